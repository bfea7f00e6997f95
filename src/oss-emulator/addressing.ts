// Which bucket and key a request addresses (spec/oss.md §2.2):
//  1. a Host that is a name with a dot (not an IP, not localhost): bucket = first label
//     (ali-oss sends `Host: <bucket>.<region host>` even to an IP endpoint);
//  2. else, a first path segment naming an existing bucket: path style (sldEnable);
//  3. else, the default bucket (cname-style endpoints carry the bucket only in the signature).
// The key is the rest of the path, percent-decoded with `+` read as a space (see decodeComponent).
import * as net from 'node:net';
import { Errors } from './errors';

export interface Address { bucket: string | undefined; key: string; style: 'virtual-host' | 'path' | 'default' }

export function hostName(hostHeader: string | undefined): string {
  if (!hostHeader) return '';
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined);
  const colon = h.lastIndexOf(':');
  return colon >= 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}

/**
 * Percent-decodes one path or query component, reading `+` as a space (form encoding), as
 * OSS does. Official SDKs other than ali-oss send a space as `+` and a literal plus as `%2B`:
 *  - path: aliyun-oss-ruby-sdk `lib/aliyun/oss/http.rb` builds the URL with `CGI.escape(object)`,
 *    and its `tests/test_object_key.rb` round-trips the keys `是 空格 yeah +-/\\&*#` and
 *    `a<b&c>d +` against real OSS (put, list, get);
 *  - query: aliyun-oss-python-sdk (oss2) hands its parameters to `requests`, which form-encodes
 *    them (`prefix=q%2Fa+b`); alibabacloud-oss-go-sdk-v2 `oss/signer/v4.go` canonicalises the
 *    query with `+` turned into `%20`, i.e. it reads `+` as a space.
 * ali-oss sends `%20` and `%2B`, so it works under either rule.
 */
export function decodeComponent(raw: string, what: 'path' | 'query'): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    throw Errors.invalidArgument(`The request ${what} is not valid percent-encoded UTF-8.`, what, raw.slice(0, 200));
  }
}

function decode(raw: string): string {
  return decodeComponent(raw, 'path');
}

export function resolveAddress(
  hostHeader: string | undefined, rawPath: string, bucketExists: (name: string) => boolean, defaultBucket: string | undefined,
): Address {
  const host = hostName(hostHeader);
  const path = rawPath.startsWith('/') ? rawPath.slice(1) : rawPath;
  if (host && !net.isIP(host) && host !== 'localhost' && host.includes('.')) {
    return { bucket: host.slice(0, host.indexOf('.')), key: decode(path), style: 'virtual-host' };
  }
  const slash = path.indexOf('/');
  const first = decode(slash >= 0 ? path.slice(0, slash) : path);
  if (first && bucketExists(first)) {
    return { bucket: first, key: slash >= 0 ? decode(path.slice(slash + 1)) : '', style: 'path' };
  }
  return { bucket: defaultBucket, key: decode(path), style: 'default' };
}

/** Query pairs, decoded, in wire order; `+` is a space (see decodeComponent). */
export function parseQuery(raw: string): Array<[string, string]> {
  if (!raw) return [];
  const out: Array<[string, string]> = [];
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = eq >= 0 ? part.slice(0, eq) : part;
    const v = eq >= 0 ? part.slice(eq + 1) : '';
    out.push([decodeComponent(k, 'query'), decodeComponent(v, 'query')]);
  }
  return out;
}
