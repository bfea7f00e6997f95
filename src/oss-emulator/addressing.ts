// Which bucket and key a request addresses (spec/oss.md §2.2):
//  1. a Host that is a name with a dot (not an IP, not localhost): bucket = first label
//     (ali-oss sends `Host: <bucket>.<region host>` even to an IP endpoint);
//  2. else, a first path segment naming an existing bucket: path style (sldEnable);
//  3. else, the default bucket (cname-style endpoints carry the bucket only in the signature).
// The key is the percent-decoded rest of the path; `+` is a literal plus.
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

function decode(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw Errors.invalidArgument('The request path is not valid percent-encoded UTF-8.', 'path', raw.slice(0, 200));
  }
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

/** Query pairs, decoded, in wire order. `+` stays a plus (ali-oss encodes spaces as %20). */
export function parseQuery(raw: string): Array<[string, string]> {
  if (!raw) return [];
  const out: Array<[string, string]> = [];
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = eq >= 0 ? part.slice(0, eq) : part;
    const v = eq >= 0 ? part.slice(eq + 1) : '';
    out.push([decode(k), decode(v)]);
  }
  return out;
}
