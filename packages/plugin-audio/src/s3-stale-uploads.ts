import type { MultipartUpload } from '@aws-sdk/client-s3';
import { assertKey } from './storage.ts';

/**
 * The uploads of a ListMultipartUploads page that are Robian's and stale: under `prefix`, named like
 * a rendition key, initiated before `olderThan`. Anything else in the bucket is left alone.
 */
export function staleUploadsOf(uploads: readonly MultipartUpload[], prefix: string, olderThan: Date): { key: string; objectKey: string; uploadId: string; initiated: Date }[] {
  const out = [];
  for (const u of uploads) {
    if (!u.Key?.startsWith(prefix) || !u.UploadId || !u.Initiated) continue;
    const key = u.Key.slice(prefix.length);
    try {
      assertKey(key);
    } catch {
      continue;
    }
    if (key.endsWith('.tmp') || u.Initiated.getTime() >= olderThan.getTime()) continue;
    out.push({ key, objectKey: u.Key, uploadId: u.UploadId, initiated: u.Initiated });
  }
  return out;
}
