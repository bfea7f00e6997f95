// `encoding-type=url` on the operations that return object names (ListObjects v1/v2,
// ListMultipartUploads, ListParts, InitiateMultipartUpload, CompleteMultipartUpload,
// DeleteMultipleObjects). OSS then adds `<EncodingType>url</EncodingType>` and URL-encodes the
// name-bearing elements it documents (AlibabaCloudDocs/oss, intl.en-US/API Reference):
//  - GetBucket (ListObjects): Delimiter, Marker, Prefix, NextMarker, Key (and CommonPrefixes/Prefix);
//  - ListObjectsV2: as v1 with StartAfter, ContinuationToken and NextContinuationToken
//    (alibabacloud-oss-go-sdk-v2 `unmarshalEncodeType` decodes exactly these);
//  - ListMultipartUploads: Delimiter, KeyMarker, Prefix, NextKeyMarker, Key;
//  - ListParts, InitiateMultipartUpload: Key.
//
// How: every byte outside `A-Z a-z 0-9 - _ . ! ~ * ' ( )` as `%XX` (encodeURIComponent), so a
// space is `%20` and a plus `%2B`. The official SDKs decode these fields two ways: oss2
// `xml_utils._find_object` with `urllib.parse.unquote` (a `+` stays a plus), and the Go v2 SDK
// (`url.QueryUnescape`) and the Ruby SDK (`CGI.unescape`) with form decoding (a `+` is a space).
// Only an encoding with `%20` for a space and `%2B` for a plus decodes to the same name in all.
import { Errors } from './errors';

/** True when the request asks for URL-encoded names; InvalidArgument for any other value. */
export function wantsUrlEncoding(query: ReadonlyMap<string, string>): boolean {
  const value = query.get('encoding-type');
  if (value === undefined || value === '') return false;
  // The ListObjects page shows `URL` as its example value; the SDKs send `url`.
  if (value.toLowerCase() === 'url') return true;
  throw Errors.invalidArgument('encoding-type must be "url".', 'encoding-type', value);
}

/** One object name (key, prefix, marker, delimiter) as OSS writes it under encoding-type=url. */
export function urlEncodeName(name: string): string {
  return encodeURIComponent(name);
}

/** The name itself, or its URL encoding when the request asked for it. */
export function nameFor(encode: boolean, name: string): string {
  return encode ? urlEncodeName(name) : name;
}
