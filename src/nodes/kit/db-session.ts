// Pooled database access through a greenplum-db config node: run a task on a pooled connection
// that is released (or destroyed, when the task failed mid-protocol) in every case, cancel its
// running statement from another connection, and mark it to be closed instead of pooled.
import type { PoolClient } from 'pg';
import type { GreenplumDbConfigNode } from '../kit';

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

/** A function that cancels the statement running on `c`, from another pooled connection. */
export async function canceller(db: GreenplumDbConfigNode, c: PoolClient): Promise<() => Promise<unknown>> {
  const r = await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const pid = r.rows[0].pid;
  return () => db.getPool().query('SELECT pg_cancel_backend($1)', [pid]);
}

/** A pooled session of `db` (inside `withClient`) as the libraries take one (src/oss TransferSession). */
export function pooledSession(db: GreenplumDbConfigNode, pg: PoolClient): { pg: PoolClient; database: string; canceller(): Promise<() => Promise<unknown>>; discard(): void } {
  return { pg, database: db.database, canceller: () => canceller(db, pg), discard: () => discardAfterUse(pg) };
}
