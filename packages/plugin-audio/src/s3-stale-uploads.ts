import { AbortMultipartUploadCommand, ListMultipartUploadsCommand, ListPartsCommand, S3ServiceException, type MultipartUpload, type S3Client } from '@aws-sdk/client-s3';
import { assertKey, type StaleUpload, type StaleUploadReport } from './storage.ts';

const isNotImplemented = (err: unknown) => err instanceof S3ServiceException && (err.name === 'NotImplemented' || err.$metadata?.httpStatusCode === 501);
/** The upload is gone: aborted or completed meanwhile (by another instance). */
const isNoSuchUpload = (err: unknown) => err instanceof S3ServiceException && (err.name === 'NoSuchUpload' || err.$metadata?.httpStatusCode === 404);

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

/**
 * Aborts Robian's multipart uploads under `prefix` initiated before `olderThan` (see
 * `S3AudioStorage.abortStaleUploads`).
 */
export async function abortStaleUploads(client: S3Client, bucket: string, prefix: string, o: { olderThan: Date; dryRun?: boolean }): Promise<StaleUploadReport> {
  const found: StaleUpload[] = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  do {
    let page;
    try {
      page = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix || undefined, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
    } catch (err) {
      if (!isNotImplemented(err)) throw err;
      return { supported: false, uploads: [], detail: `s3://${bucket} does not list multipart uploads (ListMultipartUploads: ${(err as Error).name}): abandoned parts are left to a lifecycle rule (AbortIncompleteMultipartUpload)` };
    }
    for (const u of staleUploadsOf(page.Uploads ?? [], prefix, o.olderThan)) {
      const stale: StaleUpload = { key: u.key, uploadId: u.uploadId, initiated: u.initiated, bytes: await uploadedBytes(client, bucket, u.objectKey, u.uploadId) };
      if (!o.dryRun) {
        try {
          await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.objectKey, UploadId: u.uploadId }));
        } catch (err) {
          if (!isNoSuchUpload(err)) throw err;
          continue; // aborted (or completed) meanwhile by another instance
        }
      }
      found.push(stale);
    }
    keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
  } while (keyMarker);
  return { supported: true, uploads: found };
}

/** The bytes the parts of an upload hold (0 when the upload is gone meanwhile). */
async function uploadedBytes(client: S3Client, bucket: string, objectKey: string, uploadId: string): Promise<number> {
  let bytes = 0;
  let marker: string | undefined;
  try {
    do {
      const page = await client.send(new ListPartsCommand({ Bucket: bucket, Key: objectKey, UploadId: uploadId, PartNumberMarker: marker }));
      for (const p of page.Parts ?? []) bytes += Number(p.Size ?? 0);
      marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
    } while (marker);
  } catch (err) {
    if (isNoSuchUpload(err)) return 0;
    throw err;
  }
  return bytes;
}
