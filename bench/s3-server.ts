// The S3 server of `bench/audio.ts --storage s3` in a process of its own (s3rver, as the tests use
// it), so that it does not share the event loop of the host it serves. Prints {"endpoint":…} once
// listening; SIGTERM closes it and removes its folder.
//
//   node --conditions=robian-source bench/s3-server.ts
import { startS3Server } from '../packages/plugin-audio/test/s3-server.ts';

const s3 = await startS3Server();
process.stdout.write(`${JSON.stringify({ endpoint: s3.endpoint, bucket: s3.bucket })}\n`);
process.once('SIGTERM', () => {
  void s3.close().then(() => process.exit(0));
});
