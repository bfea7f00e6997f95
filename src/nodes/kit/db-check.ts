// One bounded database round trip (connect, SELECT version()) on a connection of its own, for
// the greenplum-db probe and its dialog's Test connection button. A client of its own, not the
// shared pool: the check must not hold a pool slot or leave a broken client in it.
import { Client, type ClientConfig } from 'pg';

export interface DbCheckResult {
  ms: number;
  /** `SELECT version()`: tells Greenplum from plain PostgreSQL. */
  version: string;
}

export async function checkDatabase(config: ClientConfig, timeoutMs: number): Promise<DbCheckResult> {
  const t0 = Date.now();
  const client = new Client({ ...config, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  // A connection lost after the check must not become an unhandled 'error' event.
  client.on('error', () => undefined);
  try {
    await client.connect();
    const r = await client.query<{ version: string }>('SELECT version() AS version');
    return { ms: Date.now() - t0, version: String(r.rows[0]?.version ?? '') };
  } finally {
    await client.end().catch(() => undefined);
  }
}
