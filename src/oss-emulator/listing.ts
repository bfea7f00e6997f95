// ListObjects (v1) and ListObjectsV2 paging over a sorted key array: prefix, delimiter
// (common prefixes count toward max-keys, as on OSS), marker / start-after (exclusive)
// and an opaque continuation token.
import { compareKeys, lowerBound } from './keyorder';

export interface ListInput {
  prefix: string;
  delimiter: string;
  /** Exclusive lower bound: marker (v1), start-after or the decoded token (v2). */
  after: string;
  maxKeys: number;
}

export interface ListOutput {
  keys: string[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** The last key or common prefix returned; the next page starts after it. */
  next: string;
}

export function listKeys(sorted: readonly string[], input: ListInput): ListOutput {
  const { prefix, delimiter, after, maxKeys } = input;
  const keys: string[] = [];
  const commonPrefixes: string[] = [];
  let next = '';
  let i = compareKeys(after, prefix) >= 0 ? lowerBound(sorted, after, true) : lowerBound(sorted, prefix, false);
  while (i < sorted.length) {
    const key = sorted[i];
    if (!key.startsWith(prefix)) {
      if (compareKeys(key, prefix) > 0) break;
      i++;
      continue;
    }
    const d = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    if (d >= 0) {
      const cp = key.slice(0, d + delimiter.length);
      // A marker at or inside a group (e.g. the group itself, returned last page) skips it.
      if (compareKeys(cp, after) > 0) {
        if (keys.length + commonPrefixes.length >= maxKeys) return { keys, commonPrefixes, isTruncated: true, next };
        commonPrefixes.push(cp);
        next = cp;
      }
      // Skip every key of this group.
      i = lowerBound(sorted, cp + '\u{10FFFF}', false);
      while (i < sorted.length && sorted[i].startsWith(cp)) i++;
      continue;
    }
    if (keys.length + commonPrefixes.length >= maxKeys) return { keys, commonPrefixes, isTruncated: true, next };
    keys.push(key);
    next = key;
    i++;
  }
  return { keys, commonPrefixes, isTruncated: false, next };
}

export function encodeToken(last: string): string {
  return Buffer.from(last, 'utf8').toString('base64url');
}

export function decodeToken(token: string): string | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(token)) return undefined;
  return Buffer.from(token, 'base64url').toString('utf8');
}

export interface UploadEntry { key: string; uploadId: string }

export interface UploadPageInput {
  prefix: string;
  delimiter: string;
  keyMarker: string;
  uploadIdMarker: string;
  maxUploads: number;
}

export interface UploadPage<U extends UploadEntry> {
  uploads: U[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextKeyMarker: string;
  nextUploadIdMarker: string;
}

/**
 * One ListMultipartUploads page over uploads sorted by key: after key-marker (and, for that
 * key, after upload-id-marker), with keys that hold the delimiter after the prefix rolled up
 * into common prefixes, each counting once toward max-uploads (OSS ListMultipartUploads doc).
 */
export function listUploadPage<U extends UploadEntry>(sorted: readonly U[], input: UploadPageInput): UploadPage<U> {
  const { prefix, delimiter, keyMarker, uploadIdMarker, maxUploads } = input;
  const uploads: U[] = [];
  const commonPrefixes: string[] = [];
  let nextKeyMarker = '';
  let nextUploadIdMarker = '';
  const full = () => uploads.length + commonPrefixes.length >= maxUploads;
  for (const u of sorted) {
    if (!u.key.startsWith(prefix)) continue;
    const afterMarker = keyMarker === '' || compareKeys(u.key, keyMarker) > 0
      || (u.key === keyMarker && uploadIdMarker !== '' && u.uploadId > uploadIdMarker);
    if (!afterMarker) continue;
    const d = delimiter ? u.key.indexOf(delimiter, prefix.length) : -1;
    if (d >= 0) {
      const cp = u.key.slice(0, d + delimiter.length);
      if (commonPrefixes[commonPrefixes.length - 1] === cp) continue;
      // A key-marker at or inside a group (the group returned last page) skips it.
      if (keyMarker !== '' && compareKeys(cp, keyMarker) <= 0) continue;
      if (full()) return { uploads, commonPrefixes, isTruncated: true, nextKeyMarker, nextUploadIdMarker };
      commonPrefixes.push(cp);
      nextKeyMarker = cp;
      nextUploadIdMarker = '';
      continue;
    }
    if (full()) return { uploads, commonPrefixes, isTruncated: true, nextKeyMarker, nextUploadIdMarker };
    uploads.push(u);
    nextKeyMarker = u.key;
    nextUploadIdMarker = u.uploadId;
  }
  return { uploads, commonPrefixes, isTruncated: false, nextKeyMarker: '', nextUploadIdMarker: '' };
}
