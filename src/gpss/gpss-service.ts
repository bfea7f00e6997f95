// The shared state behind one gpss-server config node: the gRPC client (one channel), a pool of
// GPSS sessions reused across commits, the cached table descriptions, and the open load jobs.
// Flow nodes never talk to the channel directly; they go through this object, so the config
// node can close everything in the right order when its users are done.
import { GpssClient } from './client';
import type { WriteRows } from './write-request';
import type { ColumnInfo, GpssEndpoint, GpssLogin, OpenOptions, TransferStats } from './client';
import { JobLimits, JobSessionApi, LoadJob } from './load-job';
import { classifyError, isConnectionLost } from './failure-class';
import { withDetails } from '../shared/error-details';

export type ServiceState = 'connecting' | 'connected' | 'disconnected' | 'error';

export interface GpssServiceOptions {
  /** Where the GPSS server is; for the embedded server this starts it on first use. */
  endpoint(): Promise<GpssEndpoint>;
  /** The database login GPSS uses (Connect). */
  login(): GpssLogin;
  /** Deadline of each RPC. */
  deadlineMs: number;
  /** Idle sessions kept for reuse. */
  maxIdleSessions?: number;
  /** An idle session older than this is not reused (the server may have expired it). */
  sessionMaxIdleMs?: number;
  /** Removes secrets from text that may reach users (errors, logs). */
  redact?(text: string): string;
  onState?(state: ServiceState, detail?: string): void;
}

interface PooledSession {
  id: string;
  client: GpssClient;
  lastUsed: number;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class GpssService implements JobSessionApi {
  private clientPromise: Promise<GpssClient> | null = null;
  private currentClient: GpssClient | null = null;
  private idle: PooledSession[] = [];
  private busy = new Map<string, PooledSession>();
  private columnsCache = new Map<string, Promise<ColumnInfo[]>>();
  private jobs = new Set<LoadJob>();
  private closed = false;
  state: ServiceState = 'disconnected';

  constructor(private readonly options: GpssServiceOptions) {}

  private setState(state: ServiceState, detail?: string): void {
    if (state === this.state && state !== 'error') return;
    this.state = state;
    this.options.onState?.(state, detail);
  }

  /** Wraps an error so that its message names the problem and holds no secret. */
  safeError(err: unknown, what: string): Error {
    const redact = this.options.redact ?? ((s: string) => s);
    const m = errorText(err);
    // GpssError messages already name the RPC ("GPSS Write failed: …").
    const e = new Error(redact(/^GPSS \w+ failed/.test(m) ? m : `${what}: ${m}`));
    const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
    if (code !== undefined) (e as Error & { code?: unknown }).code = code;
    // gRPC status and SQLSTATE as `cause`, which Node-RED's Catch passes on (msg.error.cause).
    return withDetails(e, err, redact);
  }

  async client(): Promise<GpssClient> {
    if (this.closed) throw new Error('gpss-server config node is closed (redeploy or shutdown)');
    if (!this.clientPromise) {
      this.setState('connecting');
      this.clientPromise = this.options.endpoint().then(
        (endpoint) => {
          const c = new GpssClient(endpoint, { deadlineMs: this.options.deadlineMs });
          this.currentClient = c;
          return c;
        },
        (err) => {
          this.clientPromise = null;
          this.setState('error', errorText(err));
          throw this.safeError(err, 'GPSS server not available');
        },
      );
    }
    return this.clientPromise;
  }

  /** Drops the channel after a transport failure so the next call dials afresh (no gRPC backoff wait). */
  private resetClient(client: GpssClient): void {
    if (this.currentClient !== client) return;
    this.currentClient = null;
    this.clientPromise = null;
    this.idle = this.idle.filter((s) => s.client !== client);
    try {
      client.shutdown();
    } catch {
      /* already closed */
    }
  }

  /**
   * Notes a failure: a lost connection (UNAVAILABLE) resets the channel, others only report the
   * state (a slow call or a deadline is no reason to cut the other users' calls).
   */
  noteFailure(err: unknown, client?: GpssClient): void {
    if (client && isConnectionLost(err)) this.resetClient(client);
    if (classifyError(err).kind !== 'data') this.setState('error', (this.options.redact ?? String)(errorText(err)));
  }

  async acquireSession(): Promise<PooledSession> {
    const client = await this.client();
    const maxIdle = this.options.sessionMaxIdleMs ?? Infinity;
    while (this.idle.length > 0) {
      const s = this.idle.pop()!;
      if (s.client === client && Date.now() - s.lastUsed < maxIdle) {
        this.busy.set(s.id, s);
        return s;
      }
      if (s.client === client) this.disconnectQuietly(s);
    }
    const login = this.options.login();
    try {
      const id = await client.connect(
        {
          host: login.host,
          port: login.port,
          user: login.user,
          password: login.password,
          database: login.database,
          sessionTimeoutSec: login.sessionTimeoutSec,
        },
        this.options.deadlineMs,
      );
      const s = { id, client, lastUsed: Date.now() };
      if (this.closed) {
        // shutdown() ran while we were connecting: do not leak a server-side session.
        this.disconnectQuietly(s);
        throw new Error('gpss-server config node is closed (redeploy or shutdown)');
      }
      this.busy.set(id, s);
      this.setState('connected');
      return s;
    } catch (err) {
      this.noteFailure(err, client);
      throw this.safeError(err, 'GPSS Connect failed');
    }
  }

  release(session: string): void {
    const s = this.busy.get(session);
    if (!s) return;
    this.busy.delete(session);
    s.lastUsed = Date.now();
    if (this.closed || s.client !== this.currentClient || this.idle.length >= (this.options.maxIdleSessions ?? 4)) {
      this.disconnectQuietly(s);
    } else {
      this.idle.push(s);
    }
  }

  discard(session: string): void {
    const s = this.busy.get(session);
    if (!s) return;
    this.busy.delete(session);
    this.disconnectQuietly(s);
  }

  private disconnectQuietly(s: PooledSession): void {
    s.client.disconnect(s.id).catch(() => {
      /* the server forgets or times out the session anyway */
    });
  }

  forget(job: LoadJob): void {
    this.jobs.delete(job);
  }

  get openJobs(): number {
    return this.jobs.size;
  }

  /** Writes rows in Writes of at most `writeBytes` each (the client cuts them, write-request.ts). */
  async write(session: string, rows: WriteRows, writeBytes?: number): Promise<void> {
    const s = this.busy.get(session);
    if (!s) throw new Error(`GPSS session ${session.slice(0, 8)}… is no longer open`);
    try {
      await s.client.write(session, rows, undefined, writeBytes);
    } catch (err) {
      this.noteFailure(err, s.client);
      throw this.safeError(err, 'GPSS Write failed');
    }
  }

  async close(session: string, options: { maxErrorRows?: number; abort?: boolean }): Promise<TransferStats> {
    const s = this.busy.get(session);
    if (!s) throw new Error(`GPSS session ${session.slice(0, 8)}… is no longer open`);
    try {
      return await s.client.close(session, options);
    } catch (err) {
      this.noteFailure(err, s.client);
      throw this.safeError(err, options.abort ? 'GPSS Close (abort) failed' : 'GPSS Close (commit) failed');
    }
  }

  /** Columns of a table, described once per config node (cache dropped on error). */
  describeTable(schema: string, table: string): Promise<ColumnInfo[]> {
    const key = `${schema}\u0000${table}`;
    let p = this.columnsCache.get(key);
    if (!p) {
      p = this.withSession((client, id) => client.describeTable(id, schema, table), `DescribeTable ${schema}.${table}`);
      this.columnsCache.set(key, p);
      p.catch(() => this.columnsCache.delete(key));
    }
    return p;
  }

  /** Forget cached columns (e.g. after a failed Open: the table may have changed). */
  invalidateColumns(schema: string, table: string): void {
    this.columnsCache.delete(`${schema}\u0000${table}`);
  }

  listSchemas(): Promise<{ name: string; owner: string }[]> {
    return this.withSession((c, id) => c.listSchemas(id), 'ListSchema');
  }

  /**
   * The connection check of a deploy: Connect + ListSchema on a session of its own, disconnected
   * afterwards rather than pooled (a pooled probe session could go stale before the first
   * message and cost it a retry).
   */
  async probe(): Promise<void> {
    const s = await this.acquireSession();
    this.busy.delete(s.id);
    try {
      await s.client.listSchemas(s.id, this.options.deadlineMs);
    } catch (err) {
      this.noteFailure(err, s.client);
      throw this.safeError(err, 'GPSS ListSchema failed');
    } finally {
      await s.client.disconnect(s.id).catch(() => undefined);
    }
  }

  listTables(schema: string): Promise<{ name: string; type: string }[]> {
    return this.withSession((c, id) => c.listTables(id, schema), `ListTable ${schema}`);
  }

  private async withSession<T>(fn: (client: GpssClient, id: string) => Promise<T>, what: string): Promise<T> {
    const s = await this.acquireSession();
    try {
      const r = await fn(s.client, s.id);
      this.release(s.id);
      return r;
    } catch (err) {
      this.noteFailure(err, s.client);
      if (classifyError(err).kind === 'transient') this.discard(s.id);
      else this.release(s.id);
      throw this.safeError(err, `GPSS ${what} failed`);
    }
  }

  /** Connect (or reuse a session), describe the table (cached) and Open it. */
  async openJob(options: OpenOptions, limits: JobLimits): Promise<LoadJob> {
    const schema = options.schema || 'public';
    const columns = await this.describeTable(schema, options.table);
    let s = await this.acquireSession();
    try {
      try {
        await s.client.open(s.id, { ...options, schema });
      } catch (first) {
        // A pooled session the server no longer knows (restart, expiry): once more on a new one.
        // By cause, not code: a real GPSS reports an unknown session as UNKNOWN with its text.
        if (classifyError(first).cause !== 'session' && !isConnectionLost(first)) throw first;
        this.noteFailure(first, s.client);
        this.discard(s.id);
        s = await this.acquireSession();
        await s.client.open(s.id, { ...options, schema });
      }
    } catch (err) {
      this.noteFailure(err, s.client);
      if (classifyError(err).kind === 'transient') this.discard(s.id);
      else this.release(s.id);
      this.invalidateColumns(schema, options.table);
      throw this.safeError(err, `GPSS Open ${schema}.${options.table} failed`);
    }
    const job = new LoadJob(this, s.id, { ...options, schema }, columns, limits);
    if (this.closed) {
      // Opened while shutting down: roll it back now rather than leave a transaction open.
      await job.abort();
      throw new Error('gpss-server config node is closed (redeploy or shutdown): load job aborted');
    }
    this.jobs.add(job);
    return job;
  }

  /**
   * One stream-mode commit: Open → Write… → Close on a pooled session; the rows go in Writes
   * of at most `writeBytes` each (the client cuts them, write-request.ts).
   */
  async commitRows(options: OpenOptions, rows: WriteRows, maxErrorRows = 0, writeBytes?: number): Promise<TransferStats> {
    const s = await this.acquireSession();
    let step = 'Open';
    try {
      await s.client.open(s.id, options);
      step = 'Write';
      await s.client.write(s.id, rows, undefined, writeBytes);
      step = 'Close';
      const stats = await s.client.close(s.id, { maxErrorRows });
      this.release(s.id);
      this.setState('connected');
      return stats;
    } catch (err) {
      this.noteFailure(err, s.client);
      // The session may still have the table open: dropping it makes the server roll back.
      this.discard(s.id);
      throw this.safeError(err, `GPSS ${step} on ${options.schema ?? 'public'}.${options.table} failed`);
    }
  }

  /** Aborts open jobs, disconnects sessions and closes the channel. Never throws. */
  async shutdown(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.jobs].map((j) => j.abort()));
    const all = [...this.idle, ...this.busy.values()];
    this.idle = [];
    this.busy.clear();
    await Promise.allSettled(
      all.map((s) =>
        Promise.race([s.client.disconnect(s.id), new Promise((r) => setTimeout(r, 1000).unref())]),
      ),
    );
    const c = this.currentClient;
    this.currentClient = null;
    this.clientPromise = null;
    if (c) {
      try {
        c.shutdown();
      } catch {
        /* ignore */
      }
    }
    this.setState('disconnected');
  }
}
