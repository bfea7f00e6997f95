// Pooled database access through a greenplum-db config node, on the one pooled session of the
// project (src/query's withSession): a task runs on a pooled connection that is released, or
// closed when the task failed (it may be stuck mid-COPY) or asked for it (discardAfterUse); its
// running statement is cancelled from a connection of its own.
import type { PoolClient } from 'pg';
import { backendPid, cancelBackend, discardAfterUse, withSession } from '../../query';
import type { GreenplumDbConfigNode } from './config-types';

export { discardAfterUse };

export function withClient<T>(db: GreenplumDbConfigNode, task: (c: PoolClient) => Promise<T>): Promise<T> {
  return withSession(db.getPool(), { discardOnFailure: true }, task);
}

/** A function that cancels the statement running on `c` (pg_cancel_backend over a connection of its own). */
export async function canceller(db: GreenplumDbConfigNode, c: PoolClient): Promise<() => Promise<unknown>> {
  const pid = backendPid(c);
  if (!pid) throw new Error('the connection has no backend pid to cancel its statement');
  return () => cancelBackend(db.clientConfig(), pid);
}

/** A pooled session of `db` (inside `withClient`) as the libraries take one (src/oss TransferSession). */
export function pooledSession(db: GreenplumDbConfigNode, pg: PoolClient): { pg: PoolClient; database: string; canceller(): Promise<() => Promise<unknown>>; discard(): void } {
  return { pg, database: db.database, canceller: () => canceller(db, pg), discard: () => discardAfterUse(pg) };
}
