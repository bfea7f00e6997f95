// Binding msg.params to a query: an array fills $1, $2, … as node-postgres does; an object fills
// named parameters ($device, $since), which are rewritten to positional ones here because
// PostgreSQL knows only $n. Everything is checked before the statement is sent, so a wrong
// msg.params fails with a message naming the parameter instead of the server's "bind message
// supplies 1 parameters, but prepared statement requires 2". Pure; no I/O.
import { SettingError } from '../shared/settings';
import { scanSql, type SqlParam, type SqlScan } from './sql-text';

/** msg.query / msg.params the query cannot run with: the one option error (src/shared), `field`
 * names the culprit, code QUERY_INPUT. */
export function queryInputError(field: string, message: string): SettingError {
  return new SettingError(field, message, 'QUERY_INPUT');
}

/** What to send: the text (named parameters rewritten) and the values for $1…$n. */
export interface BoundQuery {
  text: string;
  values: unknown[];
  /** The scan of the text as given (statements, parameters). */
  scan: SqlScan;
}

function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (Buffer.isBuffer(v)) return 'a Buffer';
  if (v instanceof Date) return 'a Date';
  return typeof v === 'object' ? `a ${(v as object).constructor?.name ?? 'object'}` : `a ${typeof v}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (!v || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

const list = (names: string[], max = 3): string => names.slice(0, max).join(', ') + (names.length > max ? ', …' : '');

/**
 * The query `sql` with `params` bound: undefined/null (no parameters), an array ($1…) or a
 * plain object (named: `$name`, letters, digits and "_", not followed by "$"). Throws a
 * queryInputError naming what does not fit.
 */
export function bindParameters(sql: string, params: unknown): BoundQuery {
  const scan = scanSql(sql);
  const positional = scan.params.filter((p) => p.kind === 'positional');
  const named = scan.params.filter((p) => p.kind === 'named');
  const usesParams = scan.params.length > 0;
  if (usesParams && scan.statements.length > 1) {
    throw queryInputError('msg.query', `a query with parameters must be a single statement; this one has ${scan.statements.length} (run the others without parameters, or in another message)`);
  }
  if (params === undefined || params === null) {
    if (scan.params.length) {
      throw queryInputError('msg.params', `the query uses ${list(unique(scan.params.map(show)))} but msg.params is not set`);
    }
    return { text: sql, values: [], scan };
  }
  if (Array.isArray(params)) {
    if (named.length) {
      throw queryInputError('msg.params', `the query uses named parameters (${list(unique(named.map(show)))}): msg.params must be an object, not an array`);
    }
    const highest = positional.reduce((m, p) => Math.max(m, p.index ?? 0), 0);
    if (highest > params.length) {
      throw queryInputError('msg.params', `the query uses $${highest} but msg.params has ${params.length} value${params.length === 1 ? '' : 's'}`);
    }
    if (params.length > highest) {
      throw queryInputError('msg.params', highest === 0 ? `msg.params has ${params.length} value(s) but the query has no parameters` : `msg.params has ${params.length} values but the query uses only $1…$${highest}`);
    }
    return { text: sql, values: params, scan };
  }
  if (isPlainObject(params)) {
    if (positional.length) {
      throw queryInputError('msg.params', `msg.params is an object (named parameters) but the query uses ${list(unique(positional.map(show)))}: give an array for $1, $2, …`);
    }
    return { ...toPositional(sql, named, params), scan };
  }
  throw queryInputError('msg.params', `msg.params must be an array (for $1, $2, …) or an object (for $name); got ${describeType(params)}`);
}

function show(p: SqlParam): string {
  return p.kind === 'named' ? `$${p.name}` : `$${p.index}`;
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

/** Rewrites each $name to $n (one number per distinct name, in order of first use). */
function toPositional(sql: string, named: SqlParam[], params: Record<string, unknown>): { text: string; values: unknown[] } {
  const numberOf = new Map<string, number>();
  const values: unknown[] = [];
  const missing: string[] = [];
  let text = '';
  let at = 0;
  for (const p of named) {
    const name = p.name as string;
    let k = numberOf.get(name);
    if (k === undefined) {
      // Own properties only: "$constructor" must not find Object.prototype.constructor.
      if (!Object.prototype.hasOwnProperty.call(params, name)) missing.push(`$${name}`);
      values.push(params[name]);
      k = values.length;
      numberOf.set(name, k);
    }
    text += sql.slice(at, p.start) + `$${k}`;
    at = p.end;
  }
  if (missing.length) {
    throw queryInputError('msg.params', `no value for ${list(missing)} in msg.params (it has ${list(Object.keys(params).map((k) => `"${k}"`)) || 'no keys'})`);
  }
  return { text: text + sql.slice(at), values };
}
