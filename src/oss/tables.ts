/**
 * The table an export reads or an import fills: its quoted name, its columns, and the schema it
 * resolves to on a connection's search_path. One definition for export, import and the
 * external-table plans.
 */
import { quoteIdent } from './format';
import type { Queryable } from './detect';

/** A table, optionally schema-qualified (parseTableName reads one from text). */
export interface TableName {
  schema?: string;
  table: string;
}

/** `"schema"."table"` or `"table"`; a plain string is one (quoted) table name. */
export function qualifiedName(t: string | TableName): string {
  if (typeof t === 'string') return quoteIdent(t);
  return t.schema ? `${quoteIdent(t.schema)}.${quoteIdent(t.table)}` : quoteIdent(t.table);
}

/** Column names of a table in attribute order; throws a clear error when it does not exist. */
export async function tableColumns(c: Queryable, t: TableName): Promise<string[]> {
  const name = qualifiedName(t);
  const exists = await c.query('SELECT to_regclass($1)::oid::text AS oid', [name]);
  if (!exists.rows[0]?.oid) throw new Error(`table ${name} does not exist`);
  const r = await c.query(
    'SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum',
    [name],
  );
  return r.rows.map((x) => String(x.attname));
}

/** The table with the schema it actually resolves to on this connection's search_path. */
export async function resolveTable(c: Queryable, t: TableName): Promise<{ schema: string; table: string }> {
  const name = qualifiedName(t);
  const r = await c.query(
    'SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)',
    [name],
  );
  if (!r.rows[0]) throw new Error(`table ${name} does not exist`);
  return { schema: String(r.rows[0].nspname), table: String(r.rows[0].relname) };
}
