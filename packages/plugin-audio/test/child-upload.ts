// Uploads one file to S3 with S3AudioStorage.put, in a process of its own so that a test can kill
// it (SIGKILL) halfway. argv: <config JSON> <key> <file>. Prints "done" when the upload completed.
import { S3AudioStorage } from '../src/s3-storage.ts';

const [config, key, file] = process.argv.slice(2) as [string, string, string];
const storage = new S3AudioStorage(JSON.parse(config));
await storage.put(key, file);
process.stdout.write('done\n');
storage.close();
