// Dialog values of the OSS nodes: text, whole numbers in a range (an error naming the option
// otherwise), booleans.
import { OssOptionError } from '../../oss';

export function str(v: unknown): string {
  return typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '';
}

export function int(v: unknown, dflt: number, min: number, max: number, option: string): number {
  if (v === undefined || v === null || v === '') return dflt;
  const n = typeof v === 'number' ? v : Number(String(v).trim());
  if (!Number.isFinite(n) || Math.trunc(n) !== n) throw new OssOptionError(option, `${option} must be a whole number, got ${JSON.stringify(v)}`);
  if (n < min || n > max) throw new OssOptionError(option, `${option} must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function bool(v: unknown, dflt: boolean): boolean {
  if (v === undefined || v === null || v === '') return dflt;
  return v === true || v === 'true';
}
