/**
 * Object names written on export (DESIGN §6):
 *   `<prefix><name>_<yyyymmddThhmmss>_<seq>.<csv|txt>[.gz]`
 * `seq` is zero-padded to 5 digits so that lexical order (listing order) equals write order.
 * The timestamp is UTC. `prefix` is used as given (end it with `/` for a folder).
 */
import type { CopyFormat } from './format';

export interface ObjectNameParts {
  prefix: string;
  name: string;
  /** Start of the export, the same for every object of one table/query export; in messages mode the time the object opened. */
  at: Date;
  /** 0-based index of the object within the export. */
  seq: number;
  format: CopyFormat;
  gzip: boolean;
}

export class ObjectNameError extends Error {
  readonly code = 'OSS_NAME';
  constructor(readonly field: string, message: string) {
    super(message);
    this.name = 'ObjectNameError';
  }
}

/** `20261122T023000` (UTC). */
export function compactTimestamp(at: Date): string {
  if (Number.isNaN(at.getTime())) throw new ObjectNameError('at', 'timestamp is not a valid date');
  return at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, '');
}

export function objectKey(p: ObjectNameParts): string {
  if (p.prefix.startsWith('/')) throw new ObjectNameError('prefix', 'an OSS key prefix must not start with "/"');
  if (!/^[A-Za-z0-9._-]+$/.test(p.name)) {
    throw new ObjectNameError('name', `object name stem may contain only letters, digits, '.', '_' and '-', got ${JSON.stringify(p.name).slice(0, 80)}`);
  }
  if (!Number.isInteger(p.seq) || p.seq < 0) throw new ObjectNameError('seq', 'seq must be a non-negative integer');
  const ext = p.format === 'csv' ? 'csv' : 'txt';
  const key = `${p.prefix}${p.name}_${compactTimestamp(p.at)}_${String(p.seq).padStart(5, '0')}.${ext}${p.gzip ? '.gz' : ''}`;
  if (Buffer.byteLength(key) > 1023) throw new ObjectNameError('prefix', 'object key longer than OSS allows (1023 bytes)');
  return key;
}

/** Content-Type to send (ali-oss would otherwise guess it from the key's extension). */
export function objectMime(format: CopyFormat, gzip: boolean): string {
  if (gzip) return 'application/gzip';
  return format === 'csv' ? 'text/csv; charset=utf-8' : 'text/plain; charset=utf-8';
}
