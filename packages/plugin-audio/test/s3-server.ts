import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

/** s3rver's built-in account. */
export const S3_KEY = 'S3RVER';
export const S3_BUCKET = 'robian-test';

export interface S3Server {
  endpoint: string;
  port: number;
  bucket: string;
  /** The folder s3rver keeps the bucket in (objects never go through the host's DATA_DIR). */
  directory: string;
  /** AUDIO_STORAGE=s3 and S3_* for a host, with a prefix of its own so that tests share the bucket. */
  env(prefix: string, extra?: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

/** AUDIO_STORAGE=s3 and S3_* for a host using the test bucket of the server at `endpoint`. */
export function s3HostEnv(endpoint: string, prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    AUDIO_STORAGE: 's3',
    S3_ENDPOINT: endpoint,
    S3_BUCKET,
    S3_REGION: 'us-east-1',
    S3_ACCESS_KEY_ID: S3_KEY,
    S3_SECRET_ACCESS_KEY: S3_KEY,
    S3_PREFIX: prefix,
    ...extra,
  };
}

/**
 * A real S3 protocol server (s3rver 3.7.1, in this process) on 127.0.0.1 and a port of its own,
 * with one bucket. `serviceEndpoint` lets virtual-host requests (`<bucket>.s3.robian.test`) reach it.
 */
export async function startS3Server(): Promise<S3Server> {
  const directory = mkdtempSync(join(tmpdir(), 'robian-s3-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, serviceEndpoint: 'robian.test', configureBuckets: [{ name: S3_BUCKET, configs: [] }] });
  const address = (await server.run()) as AddressInfo;
  const endpoint = `http://127.0.0.1:${address.port}`;
  return {
    endpoint,
    port: address.port,
    bucket: S3_BUCKET,
    directory,
    env: (prefix, extra = {}) => s3HostEnv(endpoint, prefix, extra),
    async close() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

let n = 0;
/** A prefix no other test uses. */
export const uniquePrefix = (name: string) => `${name}-${process.pid}-${Date.now().toString(36)}-${n++}/`;
