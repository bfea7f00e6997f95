// gpss-pg: a GPSS-compatible gRPC server over PostgreSQL (DESIGN §5, spec §13).
import * as grpc from '@grpc/grpc-js';
import { Client } from 'pg';
import { gpssServiceDefinition } from '../gpss/proto';
import { columnInfo, findTable, listSchemas, listTables, missingTableError } from './catalog';
import { Load } from './load';
import { ConnectionGate, DEFAULT_MAX_MESSAGE_MB, grpcServerOptions, listenWithLimits, resolveListenerLimits, type ListenerLimits } from './limits';
import { openSpecFromRequest, type OpenRequestMessage } from './open-request';
import { Session } from './session';
import { checkMaxSessionTimeout, connectionHeadroomProblem, DEFAULT_MAX_SESSION_TIMEOUT_S, DEFAULT_MAX_SESSIONS_PER_USER, effectiveSessionTimeout, UserSessionQuota } from './session-limits';
import { ConnectBackoff, type ConnectBackoffOptions, peerHost, TooManyWaitingError } from './connect-backoff';
import { checkListener, describeListener, listenerCredentials, type ListenerTls } from './listener-security';
import { pgLoginConfig } from './login';
import { connectError, describePgError, GpssStatusError, GrpcStatus, invalid, notFound, precondition } from './status';
import { decodeWriteRequest, type WriteRows } from './write-request';
import { asUnknownStatus, checkErrorCodes, type ErrorCodes } from './unknown-status';

export { DEFAULT_MAX_SESSION_TIMEOUT_S } from './session-limits';

export interface GpssServerOptions {
  listen?: string; // 'HOST:PORT', default '127.0.0.1:5000', port 0 = free
  databaseUrl: string;
  allowHosts?: string[];
  tls?: ListenerTls; // cert + key; clientCa: require client certificates signed by it (mutual TLS)
  insecure?: boolean; // allow a plaintext listener on a non-loopback address (logged as a warning)
  maxSessions?: number;
  maxMessageMb?: number;
  /** Resource limits (limits.ts, session-limits.ts); every one has a safe default. */
  maxSessionTimeoutS?: number;
  maxSessionsPerUser?: number;
  limits?: Partial<ListenerLimits>;
  /**
   * What Close puts in TransferStats.ErrorRows: 'positions' (default) names each rejected row
   * as `row N: reason` (N its 1-based position in the load); 'none' sends only the counts, as
   * a real GPSS may (the proto marks ErrorRows "not supported"), to test clients against that.
   */
  errorRows?: 'positions' | 'none';
  /**
   * Test-only (not a CLI flag): 'unknown' answers every handler error as UNKNOWN with its text,
   * as a real GPSS (grpc-go) does, so clients can be tested against both (unknown-status.ts).
   */
  errorCodes?: ErrorCodes;
  log?: (line: string) => void;
  connectBackoff?: ConnectBackoffOptions; // delays after failed Connects per peer (defaults in connect-backoff.ts)
}

export interface RunningGpssServer {
  host: string;
  port: number;
  address: string; // 'host:port'
  activeSessions(): number;
  stop(): Promise<void>; // rolls back open transactions
}

/** How long a Disconnect waits for a call in progress on its session before closing the connection. */
const DISCONNECT_GRACE_MS = 5000;

/** Splits 'HOST:PORT' / '[v6]:PORT'. */
export function parseHostPort(s: string, defaultPort: number): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s);
  if (!m) throw new Error(`invalid address ${JSON.stringify(s)}: expected HOST:PORT`);
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port in ${JSON.stringify(s)}`);
  return { host: m[1].toLowerCase(), port };
}

function hostKey(host: string, port: number): string {
  return `${host.toLowerCase().replace(/^\[|\]$/g, '')}:${port}`;
}

function sslFromUrl(url: URL): boolean | { rejectUnauthorized: boolean } {
  const mode = url.searchParams.get('sslmode');
  if (!mode || mode === 'disable' || mode === 'allow' || mode === 'prefer') return false;
  return { rejectUnauthorized: mode === 'verify-ca' || mode === 'verify-full' };
}

interface SessionRef {
  ID?: string;
}

function sessionId(ref: SessionRef | null | undefined): string {
  return ref && typeof ref.ID === 'string' ? ref.ID : '';
}

function toServiceError(err: unknown): Partial<grpc.StatusObject> {
  if (err instanceof GpssStatusError) return { code: err.code, details: err.message };
  return { code: GrpcStatus.INTERNAL, details: describePgError(err) };
}

export async function startGpssServer(options: GpssServerOptions): Promise<RunningGpssServer> {
  const log = options.log ?? (() => undefined);
  const dbUrl = new URL(options.databaseUrl);
  const dbPort = Number(dbUrl.port || 5432);
  const ssl = sslFromUrl(dbUrl);
  const allowed = new Set(
    (options.allowHosts && options.allowHosts.length ? options.allowHosts : [`${dbUrl.hostname}:${dbPort}`]).map((h) => {
      const { host, port } = parseHostPort(h, 5432);
      return hostKey(host, port);
    }),
  );
  const maxSessions = options.maxSessions ?? 100;
  if (options.errorRows !== undefined && options.errorRows !== 'positions' && options.errorRows !== 'none') {
    throw new Error(`errorRows must be 'positions' or 'none' (got ${JSON.stringify(options.errorRows)})`);
  }
  const sendErrorRows = options.errorRows !== 'none';
  const allUnknown = checkErrorCodes(options.errorCodes) === 'unknown';
  const maxMessageBytes = Math.round((options.maxMessageMb ?? DEFAULT_MAX_MESSAGE_MB) * 1024 * 1024);
  const gate = new ConnectionGate(resolveListenerLimits(options.limits), log);
  const sessions = new Map<string, Session>();
  let connecting = 0;
  const maxSessionTimeoutS = options.maxSessionTimeoutS ?? DEFAULT_MAX_SESSION_TIMEOUT_S;
  const timeoutProblem = checkMaxSessionTimeout(maxSessionTimeoutS);
  if (timeoutProblem) throw new Error(timeoutProblem);
  const userQuota = new UserSessionQuota(options.maxSessionsPerUser ?? DEFAULT_MAX_SESSIONS_PER_USER);

  const getSession = (id: string): Session => {
    const s = id ? sessions.get(id) : undefined;
    if (!s || s.closed) throw notFound(id ? `session ${JSON.stringify(id)} does not exist (expired, disconnected, or never connected)` : 'request carries no session ID');
    return s;
  };
  const dropSession = async (s: Session, why: string): Promise<void> => {
    sessions.delete(s.id);
    await s.close();
    log(`session ${s.id.slice(0, 8)} ${why}`);
  };

  /**
   * Runs a call in the session's queue. The session may have expired or been disconnected
   * while the call waited its turn: then it is NOT_FOUND, as if it had arrived later.
   */
  const inSession = <T>(s: Session, fn: () => Promise<T>): Promise<T> =>
    s.run(async () => {
      if (s.closed) throw notFound(`session ${JSON.stringify(s.id)} was closed (expired or disconnected) while this call waited`);
      return fn();
    });

  /** Rolls a load back after a failed Write; a connection that cannot roll back ends the session. */
  const failLoad = async (s: Session, load: Load): Promise<void> => {
    load.state = 'failed';
    try {
      await load.rollback();
    } catch (err) {
      log(`session ${s.id.slice(0, 8)}: rollback failed (${describePgError(err)}); closing the session`);
      await dropSession(s, 'closed after a failed rollback');
    }
  };
  /** Catalog calls share the connection with an open COPY: complete its segment first. */
  const settleLoad = async (s: Session): Promise<void> => {
    const load = s.load;
    if (!load || load.state !== 'open') return;
    try {
      await load.checkpoint();
    } catch (err) {
      load.failure = err instanceof Error ? err.message : String(err);
      await failLoad(s, load);
    }
  };

  const handlers: Record<string, (req: never) => Promise<unknown>> = {
    Connect: async (req: { Host: string; Port: number; Username: string; Password: string; DB: string; SessionTimeout: number }) => {
      if (!req.Host) throw invalid('ConnectRequest.Host is empty');
      if (!req.DB) throw invalid('ConnectRequest.DB is empty');
      if (!req.Username) throw invalid('ConnectRequest.Username is empty');
      const port = req.Port || 5432;
      const target = `${req.Host}:${port}`;
      if (!allowed.has(hostKey(req.Host, port))) {
        // The allow-list is not told to the client: it would map the network for an attacker.
        throw new GpssStatusError(GrpcStatus.PERMISSION_DENIED, `database host ${target} is not allowed by this gpss-pg`);
      }
      if (sessions.size + connecting >= maxSessions) throw new GpssStatusError(GrpcStatus.RESOURCE_EXHAUSTED, `too many sessions (max ${maxSessions}); Disconnect unused sessions`);
      const dbUser = `${req.Username}@${hostKey(req.Host, port)}`;
      const release = userQuota.acquire(dbUser);
      if (!release) throw new GpssStatusError(GrpcStatus.RESOURCE_EXHAUSTED, `database user ${JSON.stringify(req.Username)} already holds ${userQuota.limit} sessions on ${target} (the per-user limit of this gpss-pg); Disconnect unused sessions`);
      connecting++;
      const label = `${req.Username}@${target}/${req.DB}`;
      const client = new Client(pgLoginConfig({ host: req.Host, port, user: req.Username, password: req.Password, database: req.DB }, ssl));
      let session: Session | null = null;
      client.on('error', (err) => {
        log(`${label}: connection error: ${describePgError(err)}`);
        if (session) void dropSession(session, 'closed: connection lost');
      });
      try {
        try {
          await client.connect();
        } catch (err) {
          throw connectError(err, `${label}`);
        }
        const full = await connectionHeadroomProblem(client);
        if (full) throw new GpssStatusError(GrpcStatus.RESOURCE_EXHAUSTED, full);
        const timeoutS = effectiveSessionTimeout(req.SessionTimeout, maxSessionTimeoutS);
        const s = new Session(
          client,
          label,
          timeoutS,
          (x) => {
            void x.run(() => dropSession(x, `expired after ${timeoutS} s idle`));
          },
          release,
        );
        session = s;
        sessions.set(s.id, s);
        const asked = req.SessionTimeout > 0 && req.SessionTimeout !== timeoutS ? ` (SessionTimeout ${req.SessionTimeout} s clamped to the server maximum)` : '';
        log(`session ${s.id.slice(0, 8)} connected as ${label}; idle timeout ${timeoutS} s${asked}`);
        return { ID: s.id };
      } catch (err) {
        await client.end().catch(() => undefined);
        release();
        throw err;
      } finally {
        connecting--;
      }
    },

    Disconnect: async (req: SessionRef) => {
      const s = getSession(sessionId(req));
      // Disconnect waits its turn, but not forever: a call stuck behind a lock (a COPY
      // waiting for another transaction's TRUNCATE, say) must not pin the session. After the
      // grace period the connection is closed, which rolls back and fails the stuck call.
      let timer: NodeJS.Timeout | undefined;
      const forced = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          sessions.delete(s.id);
          log(`session ${s.id.slice(0, 8)}: Disconnect waited ${DISCONNECT_GRACE_MS / 1000} s for a call in progress; closing the connection`);
          void s.terminate().then(resolve);
        }, DISCONNECT_GRACE_MS);
      });
      try {
        await Promise.race([s.run(() => dropSession(s, 'disconnected')), forced]);
      } finally {
        clearTimeout(timer);
      }
      return {};
    },

    ListSchema: async (req: { Session?: SessionRef }) => {
      const s = getSession(sessionId(req.Session));
      return inSession(s, async () => {
        await settleLoad(s);
        return { Schemas: await listSchemas(s.client) };
      });
    },

    ListTable: async (req: { Session?: SessionRef; Schema: string }) => {
      const s = getSession(sessionId(req.Session));
      return inSession(s, async () => {
        await settleLoad(s);
        return { Tables: await listTables(s.client, req.Schema || 'public') };
      });
    },

    DescribeTable: async (req: { Session?: SessionRef; SchemaName: string; TableName: string }) => {
      const s = getSession(sessionId(req.Session));
      return inSession(s, async () => {
        await settleLoad(s);
        const schema = req.SchemaName || 'public';
        const info = await findTable(s.client, schema, req.TableName);
        if (!info) throw await missingTableError(s.client, schema, req.TableName);
        return { Columns: info.columns.map(columnInfo) };
      });
    },

    Open: async (req: OpenRequestMessage) => {
      const s = getSession(sessionId(req.Session));
      return inSession(s, async () => {
        if (s.load) throw precondition(`a table is already open on this session (${s.load.description}); Close it before opening another`);
        const spec = openSpecFromRequest(req);
        s.load = await Load.open(s.client, spec);
        return {};
      });
    },

    Write: async (req: WriteRows) => {
      const s = getSession(req.sessionId);
      return inSession(s, async () => {
        const load = s.load;
        if (!load) throw precondition('no table is open on this session; call Open first');
        if (load.state === 'failed') throw precondition(`the load failed earlier and was rolled back (${load.failure}); Close it (with Abort) before writing again`);
        try {
          await load.write(req);
        } catch (err) {
          const status = err instanceof GpssStatusError ? err : new GpssStatusError(GrpcStatus.INTERNAL, describePgError(err));
          load.failure = status.message;
          await failLoad(s, load);
          throw status;
        }
        return {};
      });
    },

    Close: async (req: { session?: SessionRef; MaxErrorRows: number; Abort: boolean }) => {
      const s = getSession(sessionId(req.session));
      return inSession(s, async () => {
        const load = s.load;
        if (!load) throw precondition('no table is open on this session');
        s.load = null;
        if (load.state === 'failed') {
          if (req.Abort) return { SuccessCount: '0', ErrorCount: '0', ErrorRows: [] };
          throw new GpssStatusError(GrpcStatus.ABORTED, `the load failed earlier and was rolled back: ${load.failure}`);
        }
        if (req.Abort) {
          try {
            await load.rollback();
          } catch (err) {
            await dropSession(s, `closed: rollback failed (${describePgError(err)})`);
          }
          log(`session ${s.id.slice(0, 8)}: ${load.description} aborted by the client`);
          return { SuccessCount: '0', ErrorCount: '0', ErrorRows: [] };
        }
        try {
          const { stats, log: line } = await load.close(sendErrorRows ? req.MaxErrorRows | 0 : 0);
          log(`session ${s.id.slice(0, 8)}: ${line}`);
          return stats;
        } catch (err) {
          log(`session ${s.id.slice(0, 8)}: ${load.description} failed and rolled back: ${err instanceof Error ? err.message : String(err)}`);
          throw err;
        }
      });
    },
  };

  // The same proto/gpss.proto and loader options as the client (gpss/proto.ts, spec §8).
  const service = { ...gpssServiceDefinition() };
  const writeDef = service.Write as grpc.MethodDefinition<unknown, unknown>;
  service.Write = { ...writeDef, requestDeserialize: (buf: Buffer) => decodeWriteRequest(buf) };

  // Failed logins (and refused hosts) slow down the peer's next Connects: no guessing at full speed.
  const backoff = new ConnectBackoff(options.connectBackoff);
  const backoffConnect = (peer: string, req: { Username?: string }, connect: (req: never) => Promise<unknown>): Promise<unknown> => {
    const from = peerHost(peer);
    return backoff
      .run(from, String(req.Username ?? ''), () => connect(req as never), (err) => err instanceof GpssStatusError && (err.code === GrpcStatus.UNAUTHENTICATED || err.code === GrpcStatus.PERMISSION_DENIED))
      .catch((err: unknown) => {
        if (err instanceof TooManyWaitingError) throw new GpssStatusError(GrpcStatus.RESOURCE_EXHAUSTED, err.message);
        if (err instanceof GpssStatusError && err.code === GrpcStatus.UNAUTHENTICATED) log(`Connect from ${from} as ${JSON.stringify(String(req.Username ?? '').slice(0, 64))}: login failed (${backoff.failuresOf(from)} in a row from this address)`);
        throw err;
      });
  };

  const impl: grpc.UntypedServiceImplementation = {};
  for (const [name, fn] of Object.entries(handlers)) {
    const unary: grpc.handleUnaryCall<never, unknown> = (call, callback) => {
      Promise.resolve()
        .then(() => (name === 'Connect' ? backoffConnect(call.getPeer(), call.request, fn) : fn(call.request)))
        .then(
          (res) => callback(null, res),
          (err: unknown) => {
            const e = toServiceError(err);
            if (e.code === GrpcStatus.INTERNAL) log(`${name}: internal error: ${e.details}`);
            callback(allUnknown ? asUnknownStatus(e) : e);
          },
        );
    };
    impl[name] = unary as grpc.UntypedHandleCall;
  }

  const server = new grpc.Server(grpcServerOptions(gate.limits, maxMessageBytes, gate));
  server.addService(service, impl);
  const { host, port: wantPort } = parseHostPort(options.listen ?? '127.0.0.1:5000', 5000);
  const insecureWarning = checkListener(host, options.tls, options.insecure);
  if (insecureWarning) log(insecureWarning);
  const creds = listenerCredentials(options.tls);
  const bindHost = host.includes(':') ? `[${host}]` : host;
  const listener = await listenWithLimits(server, creds, host, wantPort, gate);
  const port = listener.port;
  log(`gpss-pg listening on ${bindHost}:${port}${describeListener(options.tls)}; database hosts allowed: ${[...allowed].join(', ')}${sendErrorRows ? '' : '; ErrorRows not sent (counts only)'}`);

  let stopped = false;
  return {
    host,
    port,
    address: `${bindHost}:${port}`,
    activeSessions: () => sessions.size,
    async stop() {
      if (stopped) return;
      stopped = true;
      listener.close();
      server.forceShutdown();
      // Ending a connection aborts its transaction in PostgreSQL: nothing half-committed.
      const all = [...sessions.values()];
      sessions.clear();
      await Promise.all(all.map((s) => s.terminate()));
      log(`gpss-pg stopped (${all.length} session(s) closed, open loads rolled back)`);
    },
  };
}
