// The "target table and load options" part of the gpss-connect and gpss-write dialogs, turned
// into the client's OpenOptions. Pure: unit-tested without Node-RED.
import type { OpenOptions } from '../../gpss';

export interface TargetDef {
  schema?: string;
  table?: string;
  mode?: string;
  insertColumns?: string;
  matchColumns?: string;
  updateColumns?: string;
  condition?: string;
  truncate?: boolean | string;
  errorLimitCount?: string | number;
  errorLimitPercentage?: string | number;
  preSql?: string;
  postSql?: string;
  stagingSchema?: string;
}

export class OptionError extends Error {
  readonly code = 'BAD_OPTION';
  constructor(message: string) {
    super(message);
    this.name = 'OptionError';
  }
}

/** "a, b ,c" or ["a","b"] → ["a","b","c"]. */
export function parseColumnList(v: unknown): string[] {
  if (Array.isArray(v)) return v.map((x) => String(x).trim()).filter(Boolean);
  if (typeof v !== 'string') return [];
  return v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}

function nonNegInt(v: unknown, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined || v === null || v === '') return 0;
  const n = typeof v === 'number' ? v : Number(String(v).trim());
  if (!Number.isInteger(n) || n < 0 || n > max) throw new OptionError(`${what} must be an integer from 0 to ${max}, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * Builds OpenOptions from the dialog (and per-message overrides already resolved into `def`).
 * Checks what GPSS would otherwise reject later with a less helpful message.
 */
export function buildOpenOptions(def: TargetDef): OpenOptions {
  const table = (def.table ?? '').trim();
  if (!table) throw new OptionError('no table: set Table in the dialog or pass msg.table');
  const mode = (def.mode || 'insert').toLowerCase();
  if (mode !== 'insert' && mode !== 'merge' && mode !== 'update') {
    throw new OptionError(`mode must be insert, merge or update, got ${JSON.stringify(def.mode)}`);
  }
  const matchColumns = parseColumnList(def.matchColumns);
  const updateColumns = parseColumnList(def.updateColumns);
  const insertColumns = parseColumnList(def.insertColumns);
  if (mode !== 'insert' && matchColumns.length === 0) {
    throw new OptionError(`mode ${mode} needs match columns (the key that finds existing rows)`);
  }
  if (mode !== 'insert' && updateColumns.length === 0) {
    throw new OptionError(`mode ${mode} needs update columns (what to change in matching rows)`);
  }
  const options: OpenOptions = {
    schema: (def.schema ?? '').trim() || 'public',
    table,
    mode,
    truncate: def.truncate === true || def.truncate === 'true',
    errorLimitCount: nonNegInt(def.errorLimitCount, 'error limit (rows)'),
    errorLimitPercentage: nonNegInt(def.errorLimitPercentage, 'error limit (%)', 100),
  };
  if (insertColumns.length) options.insertColumns = insertColumns;
  if (mode !== 'insert') {
    options.matchColumns = matchColumns;
    options.updateColumns = updateColumns;
  }
  const condition = (def.condition ?? '').trim();
  if (condition && mode !== 'insert') options.condition = condition;
  const preSql = (def.preSql ?? '').trim();
  const postSql = (def.postSql ?? '').trim();
  const staging = (def.stagingSchema ?? '').trim();
  if (preSql) options.preSql = preSql;
  if (postSql) options.postSql = postSql;
  if (staging) options.stagingSchema = staging;
  return options;
}

/** Node-RED dialogs deliver numbers as strings; bounded integer with a default. */
export function intSetting(v: unknown, dflt: number, min: number, max: number): number {
  const n = typeof v === 'number' ? v : parseFloat(String(v ?? ''));
  if (!Number.isFinite(n)) return dflt;
  return Math.min(max, Math.max(min, Math.trunc(n)));
}
