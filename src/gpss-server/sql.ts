// Pure SQL text builders for the server (spec §4, §6). Every identifier is double-quoted;
// nothing a client sends is ever spliced into SQL unquoted except PreSQL, PostSQL and the
// Update/Merge Condition, which are SQL by definition and run with the client's own role.

/** Double-quotes an identifier. A NUL cannot be part of a PostgreSQL identifier. */
export function quoteIdent(name: string): string {
  if (name.includes('\u0000')) throw new SqlInputError(`identifier ${JSON.stringify(name.slice(0, 40))} contains a NUL byte`);
  return '"' + name.replace(/"/g, '""') + '"';
}

export function qualifiedName(schema: string, table: string): string {
  return quoteIdent(schema) + '.' + quoteIdent(table);
}

/** A client-supplied name or option that cannot be used (→ INVALID_ARGUMENT). */
export class SqlInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SqlInputError';
  }
}

/**
 * Checks client column names against the table's columns. Names match exactly, as Greenplum
 * resolves the quoted identifiers GPSS builds (the issue "fidelity" overrides spec §6's
 * case-insensitive fallback: a flow that works here must work on a real GPSS). A name that
 * differs only in case gets a hint. `what` names the option in error messages.
 */
export function resolveColumns(requested: readonly string[], tableColumns: readonly string[], what: string): string[] {
  const seen = new Set<string>();
  return requested.map((name) => {
    if (!tableColumns.includes(name)) {
      const lower = name.toLowerCase();
      const near = tableColumns.filter((c) => c.toLowerCase() === lower).map((c) => JSON.stringify(c));
      const hint = near.length ? `; did you mean ${near.join(' or ')}? (names are matched exactly, as Greenplum resolves quoted identifiers)` : '';
      throw new SqlInputError(`${what}: column ${JSON.stringify(name)} does not exist in the table${hint}`);
    }
    if (seen.has(name)) throw new SqlInputError(`${what}: column ${JSON.stringify(name)} is listed twice`);
    seen.add(name);
    return name;
  });
}

export const SEQ_COLUMN = '_gpss_seq';

/**
 * Where staged rows go: a temp table (a bare name, in pg_temp, dropped at commit) or, when the
 * client names a StagingSchema, an unlogged table in that schema that the load drops itself
 * before COMMIT (and that ROLLBACK removes, DDL being transactional).
 */
export type StagingRef = string | { schema: string; name: string };

/** The staging table as SQL. */
export function stagingSql(staging: StagingRef): string {
  return typeof staging === 'string' ? quoteIdent(staging) : qualifiedName(staging.schema, staging.name);
}

/**
 * Column definitions of the staging table: arrival number + the load columns with their SQL
 * types. Before PostgreSQL 10 (Greenplum 6) the arrival number is a bigserial. On Greenplum
 * the table is distributed by it: the coordinator must then evaluate nextval() to route each
 * row, in the order COPY delivers them, so the number is the arrival order.
 */
export function buildCreateStaging(
  staging: StagingRef, columns: readonly { name: string; sqlType: string }[], server: { identityColumns: boolean; greenplum: boolean } = { identityColumns: true, greenplum: false },
): string {
  const defs = columns.map((c) => `${quoteIdent(c.name)} ${c.sqlType}`);
  const seq = server.identityColumns ? `${SEQ_COLUMN} bigint GENERATED ALWAYS AS IDENTITY` : `${SEQ_COLUMN} bigserial`;
  const distributed = server.greenplum ? ` DISTRIBUTED BY (${SEQ_COLUMN})` : '';
  const body = `(${seq}, ${defs.join(', ')})`;
  if (typeof staging === 'string') return `CREATE TEMP TABLE ${stagingSql(staging)} ${body} ON COMMIT DROP${distributed}`;
  // Greenplum 6 refuses UNLOGGED with a bigserial ("unlogged sequences are not supported",
  // seen on 6.24.3): there the StagingSchema table is an ordinary one (the load drops it).
  const unlogged = server.greenplum && !server.identityColumns ? '' : 'UNLOGGED ';
  return `CREATE ${unlogged}TABLE ${stagingSql(staging)} ${body}${distributed}`;
}

/** Drops a staging table in a StagingSchema (a temp one goes with the commit). */
export function buildDropStaging(staging: StagingRef): string | null {
  return typeof staging === 'string' ? null : `DROP TABLE ${stagingSql(staging)}`;
}

export function buildCopy(target: string, columns: readonly string[], format: CopyFormat = { kind: 'text' }): string {
  const cols = columns.map(quoteIdent).join(', ');
  return `COPY ${target} (${cols}) FROM STDIN${copyOptions(format)}`;
}

export type CopyFormat =
  | { kind: 'text' }
  | { kind: 'binary' }
  | { kind: 'delimited'; delimiter?: string }
  | { kind: 'csv'; delimiter?: string; quote?: string; escape?: string; null?: string };

function literal(s: string): string {
  if (s.includes('\u0000')) throw new SqlInputError('format option contains a NUL byte');
  return "'" + s.replace(/'/g, "''") + "'";
}

function copyOptions(f: CopyFormat): string {
  if (f.kind === 'text') return '';
  if (f.kind === 'binary') return ' WITH (FORMAT binary)';
  const opts: string[] = [];
  if (f.kind === 'csv') opts.push('FORMAT csv');
  else opts.push('FORMAT text');
  if (f.delimiter) opts.push(`DELIMITER ${literal(f.delimiter)}`);
  if (f.kind === 'csv') {
    if (f.quote) opts.push(`QUOTE ${literal(f.quote)}`);
    if (f.escape) opts.push(`ESCAPE ${literal(f.escape)}`);
    if (f.null !== undefined && f.null !== '') opts.push(`NULL ${literal(f.null)}`);
  }
  return ` WITH (${opts.join(', ')})`;
}

/** Insert from staging in arrival order (Insert with TruncateTable). */
export function buildInsertFromStaging(target: string, staging: StagingRef, columns: readonly string[]): string {
  const cols = columns.map(quoteIdent).join(', ');
  return `INSERT INTO ${target} (${cols}) SELECT ${cols} FROM ${stagingSql(staging)} ORDER BY ${SEQ_COLUMN}`;
}

/**
 * gpload's UPDATE, made deterministic: when several staged rows share a key the last one
 * (highest arrival number) wins. The condition restricts the UPDATE only.
 */
export function buildUpdate(target: string, staging: StagingRef, match: readonly string[], update: readonly string[], condition: string): string {
  const m = match.map(quoteIdent);
  const set = update.map((c) => `${quoteIdent(c)} = from_table.${quoteIdent(c)}`).join(', ');
  const on = m.map((c) => `into_table.${c} = from_table.${c}`).join(' AND ');
  const source = `(SELECT DISTINCT ON (${m.join(', ')}) * FROM ${stagingSql(staging)} ORDER BY ${m.join(', ')}, ${SEQ_COLUMN} DESC)`;
  const cond = condition.trim() ? ` AND (${condition})` : '';
  return `UPDATE ${target} AS into_table SET ${set} FROM ${source} AS from_table WHERE ${on}${cond}`;
}

/** gpload's MERGE step 2: insert keys absent from the target, one row (the last) per key. */
export function buildMergeInsert(target: string, staging: StagingRef, match: readonly string[], insertColumns: readonly string[]): string {
  const m = match.map(quoteIdent);
  const cols = insertColumns.map(quoteIdent);
  const on = m.map((c) => `into_table.${c} = from_table.${c}`).join(' AND ');
  const absent = m.map((c) => `into_table.${c} IS NULL`).join(' AND ');
  return (
    `INSERT INTO ${target} (${cols.join(', ')}) SELECT ${cols.map((c) => `from_table.${c}`).join(', ')} FROM ` +
    `(SELECT *, row_number() OVER (PARTITION BY ${m.join(', ')} ORDER BY ${SEQ_COLUMN} DESC) AS gpss_row_number FROM ${stagingSql(staging)}) AS from_table ` +
    `LEFT OUTER JOIN ${target} AS into_table ON ${on} ` +
    `WHERE ${absent} AND from_table.gpss_row_number = 1 ORDER BY from_table.${SEQ_COLUMN}`
  );
}

const KEYWORDS = new Set(
  ('all and any array as asc between by case cast collate current_date current_time current_timestamp current_user default desc distinct else end ' +
    'escape exists false from ilike in is isnull like not notnull null nulls or overlaps select session_user similar some symmetric then true unknown when where')
    .split(' '),
);

/**
 * gpload's condition rewrite: bare identifiers naming a target column get `into_table.`.
 * Skips string literals, dollar quotes, comments, qualified names (`x.y`), function calls
 * (`f(`), type names after `::`, and SQL keywords. Quoted identifiers match exactly, bare ones
 * after PostgreSQL's case folding.
 */
export function rewriteCondition(condition: string, targetColumns: readonly string[]): string {
  const cols = new Set(targetColumns);
  let out = '';
  let i = 0;
  const n = condition.length;
  let prevSignificant = ''; // last non-space text token, to see '.' and '::'
  while (i < n) {
    const c = condition[i];
    // whitespace
    if (/\s/.test(c)) {
      out += c;
      i++;
      continue;
    }
    // comments
    if (c === '-' && condition[i + 1] === '-') {
      const e = condition.indexOf('\n', i);
      const end = e < 0 ? n : e;
      out += condition.slice(i, end);
      i = end;
      continue;
    }
    if (c === '/' && condition[i + 1] === '*') {
      const e = condition.indexOf('*/', i + 2);
      const end = e < 0 ? n : e + 2;
      out += condition.slice(i, end);
      i = end;
      continue;
    }
    // string literals ('...', E'...', with '' escapes; E'' also backslash escapes)
    if (c === "'" || ((c === 'E' || c === 'e') && condition[i + 1] === "'")) {
      const escapes = c !== "'";
      let j = escapes ? i + 2 : i + 1;
      while (j < n) {
        if (escapes && condition[j] === '\\') j += 2;
        else if (condition[j] === "'" && condition[j + 1] === "'") j += 2;
        else if (condition[j] === "'") break;
        else j++;
      }
      out += condition.slice(i, Math.min(j + 1, n));
      i = j + 1;
      prevSignificant = "'";
      continue;
    }
    // dollar quotes $tag$...$tag$
    if (c === '$') {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(condition.slice(i));
      if (m) {
        const close = condition.indexOf(m[0], i + m[0].length);
        const end = close < 0 ? n : close + m[0].length;
        out += condition.slice(i, end);
        i = end;
        prevSignificant = "'";
        continue;
      }
    }
    // identifiers (quoted or bare)
    let ident: string | null = null;
    let raw = '';
    if (c === '"') {
      let j = i + 1;
      let name = '';
      while (j < n) {
        if (condition[j] === '"' && condition[j + 1] === '"') {
          name += '"';
          j += 2;
        } else if (condition[j] === '"') break;
        else name += condition[j++];
      }
      raw = condition.slice(i, Math.min(j + 1, n));
      ident = name;
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      const m = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/.exec(condition.slice(i))!;
      raw = m[0];
      ident = KEYWORDS.has(raw.toLowerCase()) ? null : raw.toLowerCase();
    }
    if (raw) {
      i += raw.length;
      const rest = condition.slice(i).replace(/^\s+/, '');
      const qualifiedAfter = rest.startsWith('.');
      const call = rest.startsWith('(');
      const qualifiedBefore = prevSignificant === '.' || prevSignificant === '::';
      if (ident !== null && cols.has(ident) && !qualifiedAfter && !call && !qualifiedBefore) out += 'into_table.' + quoteIdent(ident);
      else out += raw;
      prevSignificant = 'ident';
      continue;
    }
    // numbers and operators
    if (c === ':' && condition[i + 1] === ':') {
      out += '::';
      i += 2;
      prevSignificant = '::';
      continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^[0-9.]+(?:[eE][+-]?[0-9]+)?/.exec(condition.slice(i))!;
      out += m[0];
      i += m[0].length;
      prevSignificant = '0';
      continue;
    }
    out += c;
    i++;
    prevSignificant = c;
  }
  return out;
}
