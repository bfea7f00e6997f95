// Catalog queries behind ListSchema, ListTable, DescribeTable and Open (spec §3.2, §13).
import type { Client } from 'pg';
import { ColumnKind, columnKindForOid } from './copy-values';
import { serverTraits } from './server-traits';
import type { ColumnInfoMessage } from '../gpss/wire-types';
import { qualifiedName, quoteIdent } from './sql';
import { GpssStatusError, GrpcStatus, notFound } from './status';

export interface TableColumn {
  name: string;
  sqlType: string; // format_type(): usable in CREATE TABLE
  typeName: string; // upper-case pg_type.typname, lib/pq style (INT4, VARCHAR, _INT4)
  typmod: number;
  baseOid: number;
  notNull: boolean;
  generated: boolean;
  kind: ColumnKind;
}

export interface TableInfo {
  schema: string;
  table: string;
  relkind: string;
  /** Row-level security or rules: COPY into the table would fail or bypass them, INSERT does not. */
  needsInsert: boolean;
  columns: TableColumn[];
}

/**
 * Finds a relation by its exact schema and table names, as Greenplum resolves the quoted
 * identifiers GPSS builds from SchemaName/TableName (no case folding, no fallback): a flow that
 * loads here must load on a real GPSS too. See missingTableError for the hint when it fails.
 */
export async function findTable(client: Client, schema: string, table: string): Promise<TableInfo | null> {
  // Greenplum 6 (PostgreSQL 9.4) has neither row-level security nor generated columns.
  const traits = await serverTraits(client);
  const rowSecurity = traits.rowSecurity ? 'c.relrowsecurity' : 'false';
  const generated = traits.generatedColumns ? `a.attgenerated <> ''` : 'false';
  const { rows } = await client.query<{ nspname: string; relname: string; relkind: string; oid: number; needs_insert: boolean }>(
    `SELECT n.nspname, c.relname, c.relkind, c.oid::int AS oid, (${rowSecurity} OR c.relhasrules) AS needs_insert FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r','p','v','m','f')`,
    [schema, table],
  );
  const pick = rows.length === 1 ? rows[0] : null;
  if (!pick) return null;
  const cols = await client.query<{ attname: string; sqltype: string; typname: string; atttypmod: number; baseoid: number; attnotnull: boolean; generated: boolean }>(
    `SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS sqltype, upper(t.typname) AS typname, a.atttypmod,
            (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END)::int AS baseoid, a.attnotnull, ${generated} AS generated
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [pick.oid],
  );
  return {
    schema: pick.nspname,
    table: pick.relname,
    relkind: pick.relkind,
    needsInsert: pick.needs_insert,
    columns: cols.rows.map((c) => ({
      name: c.attname,
      sqlType: c.sqltype,
      typeName: c.typname,
      typmod: c.atttypmod,
      baseOid: c.baseoid,
      notNull: c.attnotnull,
      generated: c.generated,
      kind: columnKindForOid(c.baseoid),
    })),
  };
}

const INT64_MAX = '9223372036854775807';

export type { ColumnInfoMessage };

/** ColumnInfo as lib/pq's ColumnType would report it (spec §3.2), with real nullability. */
export function columnInfo(c: TableColumn): ColumnInfoMessage {
  let hasLength = false;
  let length = '0';
  const oid = c.baseOid;
  if (oid === 25 || oid === 17) {
    hasLength = true;
    length = INT64_MAX;
  } else if (oid === 1043 || oid === 1042) {
    hasLength = true;
    length = c.typmod > 4 ? String(c.typmod - 4) : INT64_MAX;
  }
  let hasPS = false;
  let precision = '0';
  let scale = '0';
  if (oid === 1700 && c.typmod >= 4) {
    hasPS = true;
    precision = String(((c.typmod - 4) >> 16) & 0xffff);
    scale = String((c.typmod - 4) & 0xffff);
  }
  return { Name: c.name, DatabaseType: c.typeName, HasLength: hasLength, Length: length, HasPrecisionScale: hasPS, Precision: precision, Scale: scale, HasNullable: true, Nullable: !c.notNull };
}

export async function listSchemas(client: Client): Promise<{ Name: string; Owner: string }[]> {
  const { rows } = await client.query<{ name: string; owner: string }>(
    `SELECT nspname AS name, pg_get_userbyid(nspowner) AS owner FROM pg_namespace
      WHERE nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp\\_%' ORDER BY nspname`,
  );
  return rows.map((r) => ({ Name: r.name, Owner: r.owner }));
}

const RELATION_TYPE: Record<string, string> = { r: 'Table', p: 'Table', v: 'View', m: 'View', i: 'Index', I: 'Index', S: 'Sequence', f: 'Special' };

export async function listTables(client: Client, schema: string): Promise<{ Name: string; Type: string }[]> {
  const { rows } = await client.query<{ name: string; relkind: string }>(
    `SELECT c.relname AS name, c.relkind::text AS relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 ORDER BY c.relname`,
    [schema],
  );
  return rows.map((r) => ({ Name: r.name, Type: RELATION_TYPE[r.relkind] ?? 'Other' }));
}

/**
 * NOT_FOUND for a table that does not exist under its exact name, with a hint naming the
 * relations that differ only in letter case ("did you mean …?"): PostgreSQL folds unquoted
 * names to lower case, so `MyTable` in SQL is "mytable" in the catalog.
 */
export async function missingTableError(client: Client, schema: string, table: string): Promise<GpssStatusError> {
  let hint = '';
  try {
    const { rows } = await client.query<{ nspname: string; relname: string }>(
      `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE lower(n.nspname) = lower($1) AND lower(c.relname) = lower($2) AND c.relkind IN ('r','p','v','m','f') ORDER BY 1, 2 LIMIT 5`,
      [schema, table],
    );
    hint = didYouMean(rows.map((r) => qualifiedName(r.nspname, r.relname)));
  } catch {
    /* the hint is a courtesy; the error stands without it */
  }
  return notFound(`table ${qualifiedName(schema, table)} does not exist${hint} (names are matched exactly, as Greenplum resolves quoted identifiers)`);
}

/** "; did you mean "a" or "b"?" or ''. */
export function didYouMean(candidates: readonly string[]): string {
  if (!candidates.length) return '';
  return `; did you mean ${candidates.join(' or ')}?`;
}

/**
 * OpenRequest.StagingSchema must exist (exact name) and the role must be allowed to create
 * tables in it: a real GPSS creates its external table there, gpss-pg its staging table.
 */
export async function checkStagingSchema(client: Client, schema: string): Promise<void> {
  const { rows } = await client.query<{ nspname: string; can_create: boolean }>(
    `SELECT nspname, has_schema_privilege(oid, 'CREATE') AS can_create FROM pg_namespace WHERE lower(nspname) = lower($1) ORDER BY 1`,
    [schema],
  );
  const exact = rows.find((r) => r.nspname === schema);
  if (!exact) {
    const hint = didYouMean(rows.map((r) => quoteIdent(r.nspname)));
    throw notFound(`StagingSchema ${quoteIdent(schema)} does not exist${hint}`);
  }
  if (!exact.can_create) {
    throw new GpssStatusError(
      GrpcStatus.PERMISSION_DENIED,
      `permission denied: no CREATE privilege on StagingSchema ${quoteIdent(schema)}, where the staging table is created (GRANT CREATE ON SCHEMA ${quoteIdent(schema)} TO <role>)`,
    );
  }
}
