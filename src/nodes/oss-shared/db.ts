// Database helpers of the OSS nodes: run a task on a pooled connection of the greenplum-db
// config node that is released (or destroyed, when the task failed mid-protocol) in every case,
// read a table's column names and its resolved name, and cancel a running statement.
import type { PoolClient } from 'pg';
import type { GreenplumDbConfigNode } from '../kit';
import { quoteIdent } from '../../oss';

// Clients whose session must not be reused: `withClient` destroys them instead of releasing
// them to the pool (e.g. a TEMP external table whose DROP failed still holds the OSS key).
const discardOnRelease = new WeakSet<PoolClient>();

/** Marks `c` (inside `withClient`) to be closed rather than returned to the pool. */
export function discardAfterUse(c: PoolClient): void {
  discardOnRelease.add(c);
}

export async function withClient<T>(db: GreenplumDbConfigNode, task: (c: PoolClient) => Promise<T>): Promise<T> {
  const client = await db.getPool().connect();
  let broken: Error | undefined;
  // A pool client emits 'error' when its connection dies; without a listener that would be
  // an uncaught exception that stops Node-RED.
  const onError = (e: Error) => {
    broken = e;
  };
  client.on('error', onError);
  try {
    return await task(client);
  } catch (err) {
    // After a failed or cancelled COPY the connection may still be inside the COPY protocol,
    // where a ROLLBACK would queue forever. Discarding the connection is always safe: the
    // server rolls back whatever transaction it had open.
    broken = broken ?? (err instanceof Error ? err : new Error(String(err)));
    throw err;
  } finally {
    client.removeListener('error', onError);
    if (!broken && discardOnRelease.has(client)) broken = new Error('session discarded');
    discardOnRelease.delete(client);
    client.release(broken);
  }
}

export function qualified(t: { schema?: string; table: string }): string {
  return t.schema ? `${quoteIdent(t.schema)}.${quoteIdent(t.table)}` : quoteIdent(t.table);
}

/** Column names of a table in attribute order; throws a clear error when it does not exist. */
export async function tableColumns(c: PoolClient, t: { schema?: string; table: string }): Promise<string[]> {
  const name = qualified(t);
  const exists = await c.query<{ oid: string | null }>('SELECT to_regclass($1)::oid::text AS oid', [name]);
  if (!exists.rows[0]?.oid) throw new Error(`table ${name} does not exist`);
  const r = await c.query<{ attname: string }>(
    'SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum',
    [name],
  );
  return r.rows.map((x) => x.attname);
}

/** The table with the schema it actually resolves to on this connection's search_path. */
export async function resolveTable(c: PoolClient, t: { schema?: string; table: string }): Promise<{ schema: string; table: string }> {
  const name = qualified(t);
  const r = await c.query<{ nspname: string; relname: string }>(
    'SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)',
    [name],
  );
  if (!r.rows[0]) throw new Error(`table ${name} does not exist`);
  return { schema: r.rows[0].nspname, table: r.rows[0].relname };
}

/** A function that cancels the statement running on `c`, from another pooled connection. */
export async function canceller(db: GreenplumDbConfigNode, c: PoolClient): Promise<() => Promise<unknown>> {
  const r = await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const pid = r.rows[0].pid;
  return () => db.getPool().query('SELECT pg_cancel_backend($1)', [pid]);
}
