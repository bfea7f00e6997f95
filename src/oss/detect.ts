/**
 * Detects whether the database can use `oss://` external tables (the `oss_ext` extension,
 * spec/oss.md §1.1), so mode `auto` picks external tables on Greenplum with oss_ext and the
 * client path (COPY through this process) everywhere else, e.g. PostgreSQL.
 */
export interface Queryable {
  query(sql: string, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
}

export interface OssExtStatus {
  /** `CREATE EXTENSION oss_ext` has been run in this database. */
  installed: boolean;
  /** The extension is available to install (`pg_available_extensions`). */
  available: boolean;
}

export async function ossExtStatus(client: Queryable): Promise<OssExtStatus> {
  const { rows } = await client.query(
    `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'oss_ext') AS installed,
            EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'oss_ext') AS available`,
  );
  const r = rows[0] ?? {};
  return { installed: r.installed === true, available: r.available === true };
}

/** True when the database has `oss_ext` installed (only then are `oss://` tables usable). */
export async function hasOssExt(client: Queryable): Promise<boolean> {
  return (await ossExtStatus(client)).installed;
}

export type TransferMode = 'auto' | 'client' | 'external';

/**
 * Resolves `auto`: external when oss_ext is installed, or when it is available and
 * `allowCreateExtension` is set (then the extension is created); client otherwise.
 */
export async function chooseTransferMode(client: Queryable, mode: TransferMode, opts: { allowCreateExtension?: boolean } = {}): Promise<'client' | 'external'> {
  if (mode === 'client' || mode === 'external') return mode;
  const st = await ossExtStatus(client);
  if (st.installed) return 'external';
  if (st.available && opts.allowCreateExtension) {
    await client.query('CREATE EXTENSION IF NOT EXISTS oss_ext');
    return 'external';
  }
  return 'client';
}

/**
 * Number of primary segments (Greenplum), for `stripes` on export so gpossext spreads the
 * objects evenly over the segments (spec §1.8). 1 on PostgreSQL (no gp_segment_configuration).
 */
export async function primarySegmentCount(client: Queryable): Promise<number> {
  const { rows } = await client.query(`SELECT to_regclass('pg_catalog.gp_segment_configuration') IS NOT NULL AS gp`);
  if (rows[0]?.gp !== true) return 1;
  const r = await client.query(`SELECT count(*)::int AS n FROM gp_segment_configuration WHERE role = 'p' AND content >= 0`);
  const n = Number(r.rows[0]?.n);
  return Number.isInteger(n) && n > 0 ? n : 1;
}
