// One pooled connection for one message's work, given back to the pool the way it was taken:
// idle, outside any transaction. A script that left a transaction open is rolled back; a
// connection whose state is unknown (it failed, or the ROLLBACK did) is closed instead of
// reused, since the same pool serves the other nodes of the greenplum-db login. The one pooled
// session of the project: the node kit's withClient (the OSS nodes) runs on it too.
import { Client, type ClientConfig, type PoolClient } from 'pg';

// Connections whose session must not be reused: closed instead of given back to the pool (e.g. a
// TEMP external table whose DROP failed still holds the OSS key).
const discardOnRelease = new WeakSet<PoolClient>();

/** Marks `client` (inside `withSession`) to be closed rather than given back to the pool. */
export function discardAfterUse(client: PoolClient): void {
  discardOnRelease.add(client);
}

/** The backend pid of a connection, from its BackendKeyData (not in node-postgres's type declarations). */
export function backendPid(client: PoolClient): number | undefined {
  return (client as PoolClient & { processID?: number }).processID;
}

export interface SessionPool {
  connect(): Promise<PoolClient>;
}

export interface SessionOptions {
  /** Aborting cancels the statement running on the connection (close, redeploy). */
  signal?: AbortSignal;
  /** How to cancel the statement of backend `pid` (see cancelBackend). */
  cancel?: (pid: number) => Promise<unknown>;
  /**
   * After a failed task, close the connection instead of rolling back: a failed or cancelled
   * COPY can leave it inside the COPY protocol, where a ROLLBACK would queue forever (the server
   * rolls back whatever transaction it had open).
   */
  discardOnFailure?: boolean;
}

/** Runs `task` on a connection of `pool`; see the file comment for how it is given back. */
export async function withSession<T>(pool: SessionPool, options: SessionOptions, task: (client: PoolClient) => Promise<T>): Promise<T> {
  const { signal, cancel, discardOnFailure } = options;
  if (signal?.aborted) throw new Error('cancelled before the query started');
  const client = await pool.connect();
  let broken: Error | undefined;
  // A pooled connection that dies emits 'error'; unheard, that would stop Node-RED.
  const onError = (e: Error): void => {
    broken = e;
  };
  const pid = backendPid(client);
  const onAbort = (): void => {
    if (cancel && pid) void cancel(pid).catch(() => undefined);
  };
  client.on('error', onError);
  signal?.addEventListener('abort', onAbort, { once: true });
  let failed = false;
  try {
    return await task(client);
  } catch (err) {
    failed = true;
    if (discardOnFailure) broken ??= err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    let discard: Error | boolean | undefined = broken ?? (discardOnRelease.has(client) ? new Error('session discarded') : undefined);
    discardOnRelease.delete(client);
    // node-postgres rejects a query on the server's ErrorResponse, before the ReadyForQuery that
    // tells the transaction state: after a failure the state read here may be stale, so a
    // ROLLBACK is sent whatever it says (queued behind that ReadyForQuery; outside a
    // transaction it is only a warning).
    if (!discard && (failed || client.getTransactionStatus() !== 'I')) {
      discard = await client.query('ROLLBACK').then(
        () => client.getTransactionStatus() !== 'I',
        (e: unknown) => (e instanceof Error ? e : true),
      );
    }
    client.removeListener('error', onError);
    client.release(discard);
  }
}

/**
 * Cancels the statement running in backend `pid` (pg_cancel_backend) over a connection of its
 * own, so that it works when every pooled connection is busy.
 */
export async function cancelBackend(config: ClientConfig, pid: number, timeoutMs = 5000): Promise<void> {
  const c = new Client({ ...config, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  c.on('error', () => undefined);
  await c.connect();
  try {
    await c.query('SELECT pg_cancel_backend($1)', [pid]);
  } finally {
    await c.end().catch(() => undefined);
  }
}
