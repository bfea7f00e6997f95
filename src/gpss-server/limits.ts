// Resource limits of gpss-pg's gRPC listener: what anyone who can open a TCP connection can
// make the process hold, before any session check.
//
// grpc-js (1.14) honours, as server options: grpc.max_receive_message_length,
// grpc.max_concurrent_streams, grpc.max_connection_idle_ms, grpc.max_connection_age_ms,
// grpc.max_connection_age_grace_ms, grpc.keepalive_time_ms and grpc.keepalive_timeout_ms
// (see @grpc/grpc-js build/src/server.js). It has no limit on connections and none on
// the request bytes it buffers, so this module adds them:
//
// * Connections (in total and per peer address) are counted on our own net.Server, whose
//   sockets are handed to grpc-js through its public `createConnectionInjector` (TLS and
//   HTTP/2 are still done by grpc-js). A connection over a limit first makes room by closing
//   the least recently used connection that has had no call for 250 ms (its client
//   reconnects on its next call, as after any idle close); when there is none, the new one
//   is admitted only to answer its calls with RESOURCE_EXHAUSTED naming the limit, and closed
//   after REJECT_LINGER_MS.
// * Requests still being received: grpc-js buffers a request's bytes until the whole message
//   has arrived (at most max_receive_message_length). A server interceptor lets at most
//   `maxReceivingRequests` calls read their request at once; the others wait with their
//   HTTP/2 stream paused (≤ one RECEIVE_WINDOW flow-control window each, at most
//   MAX_WAITING_REQUESTS of them, beyond which a call is refused with RESOURCE_EXHAUSTED). A
//   request whose message has not arrived within `requestReceiveTimeoutS` gets
//   DEADLINE_EXCEEDED and its connection is closed (closing the connection is what frees the
//   bytes grpc-js holds), which also frees its slot for the waiting calls.
//
// Worst case of buffered request bytes, with the defaults:
//   maxReceivingRequests × max message = 32 × 4 MiB = 128 MiB, each held ≤ 60 s,
//   + min(MAX_WAITING_REQUESTS × RECEIVE_WINDOW, maxConnections × RECEIVE_WINDOW)
//     = 128 × 256 KiB = 32 MiB of waiting calls (a connection's window covers all its streams);
// plus per connection (HTTP/2 session, socket buffers): ≤ 128 connections × a few hundred KiB.
// Without these limits: connections × streams × 64 MiB (the old message limit), unbounded.
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';

export interface ListenerLimits {
  /** Open connections in total. */
  maxConnections: number;
  /** Open connections from one IP address. */
  maxConnectionsPerPeer: number;
  /** Concurrent calls (HTTP/2 streams) on one connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
  maxStreamsPerConnection: number;
  /** Calls reading their request message at once, over all connections (the others wait). */
  maxReceivingRequests: number;
  /** Seconds a request message may take to arrive after its headers. */
  requestReceiveTimeoutS: number;
  /** A connection without calls for this long is closed (GOAWAY); 0 = never. */
  connectionIdleS: number;
  /** A connection older than this is asked to reconnect (GOAWAY); 0 = never. */
  connectionAgeS: number;
  /** Calls in progress on a connection past its age get this long to finish. */
  connectionAgeGraceS: number;
  /** The server pings a connection after this long without activity… */
  keepaliveTimeS: number;
  /** …and closes it when the ping is not answered within this long. */
  keepaliveTimeoutS: number;
  /** Client pings closer together than this are strikes; the third ends the connection. */
  minPingIntervalS: number;
}

/** Largest accepted request, in MiB: grpc-go's default (so a real GPSS's), above our client's 3.5 MiB Writes. */
export const DEFAULT_MAX_MESSAGE_MB = 4;

export const DEFAULT_LISTENER_LIMITS: Readonly<ListenerLimits> = {
  maxConnections: 128,
  maxConnectionsPerPeer: 64,
  // A Node-RED gpss-server shares one connection among all its sessions (≤ 100 by default),
  // each with at most a call or two in flight.
  maxStreamsPerConnection: 128,
  maxReceivingRequests: 32,
  requestReceiveTimeoutS: 60,
  connectionIdleS: 900,
  connectionAgeS: 6 * 3600,
  connectionAgeGraceS: 1800, // a Close merging a large load may take minutes
  keepaliveTimeS: 120,
  keepaliveTimeoutS: 20,
  minPingIntervalS: 300, // grpc-go's EnforcementPolicy.MinTime default, so what a real GPSS enforces
};

/** How long a connection admitted over the limit lives to deliver its RESOURCE_EXHAUSTED answers. */
const REJECT_LINGER_MS = 2000;
/** Connections over the limit that may linger at once; beyond that they are closed without an answer. */
const MAX_LINGERING = 32;
const EVICTED = 'evicted';
/**
 * A connection is closed to make room only after this long without a call: a client sends
 * its first call right after connecting, and a flood of new connections must not close a
 * new client's connection before that call has arrived.
 */
const EVICT_MIN_IDLE_MS = 250;
/** Calls that may wait for a receiving slot (each holds at most one RECEIVE_WINDOW). */
const MAX_WAITING_REQUESTS = 512;
/** Limit messages are logged at most once per this interval (with a count of the rest). */
const LOG_INTERVAL_MS = 10_000;

/** Checks limits (merged with the defaults); returns them or throws naming the bad one. */
export function resolveListenerLimits(partial: Partial<ListenerLimits> | undefined): ListenerLimits {
  const limits: ListenerLimits = { ...DEFAULT_LISTENER_LIMITS, ...stripUndefined(partial ?? {}) };
  const positive: (keyof ListenerLimits)[] = ['maxConnections', 'maxConnectionsPerPeer', 'maxStreamsPerConnection', 'maxReceivingRequests', 'requestReceiveTimeoutS', 'keepaliveTimeS', 'keepaliveTimeoutS'];
  for (const k of Object.keys(limits) as (keyof ListenerLimits)[]) {
    const v = limits[k];
    const min = positive.includes(k) ? 1 : 0;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v * (k.endsWith('S') ? 1000 : 1) > 2 ** 31 - 1) {
      throw new Error(`limit ${k} must be a number ≥ ${min}${k.endsWith('S') ? ' (seconds, within Node timer range)' : ''}, got ${String(v)}`);
    }
  }
  return limits;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** grpc-js server options for these limits. */
export function grpcServerOptions(limits: ListenerLimits, maxMessageBytes: number, gate: ConnectionGate): grpc.ServerOptions {
  const opts: grpc.ServerOptions = {
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': -1,
    'grpc.max_concurrent_streams': limits.maxStreamsPerConnection,
    'grpc.keepalive_time_ms': limits.keepaliveTimeS * 1000,
    'grpc.keepalive_timeout_ms': limits.keepaliveTimeoutS * 1000,
    interceptors: [gate.interceptor],
  };
  if (limits.connectionIdleS > 0) opts['grpc.max_connection_idle_ms'] = limits.connectionIdleS * 1000;
  if (limits.connectionAgeS > 0) {
    opts['grpc.max_connection_age_ms'] = limits.connectionAgeS * 1000;
    opts['grpc.max_connection_age_grace_ms'] = limits.connectionAgeGraceS * 1000;
  }
  return opts;
}

interface Connection {
  socket: net.Socket;
  peer: string;
  key: string; // remote address and port: what a call's getConnectionInfo() names
  calls: number; // calls in progress
  lastUsed: number;
  rejected: string; // why it was admitted only to refuse its calls ('' = admitted)
}

/** Normalises ::ffff:127.0.0.1 to 127.0.0.1 so that one client is one peer. */
function peerOf(address: string | undefined): string {
  const a = address ?? 'unknown';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

function keyOf(address: string | undefined, port: number | undefined): string {
  return `${address ?? ''}|${port ?? ''}`;
}

/** Counts connections and calls; see the file comment. */
export class ConnectionGate {
  private readonly byKey = new Map<string, Connection>();
  private readonly perPeer = new Map<string, number>();
  private admitted = 0;
  private lingering = 0;
  private receiving = 0;
  private lastLog = 0;
  private unlogged = 0;

  constructor(
    readonly limits: ListenerLimits,
    private readonly log: (line: string) => void,
  ) {}

  /** Open connections (admitted ones and those lingering to deliver a refusal). */
  get connections(): number {
    return this.byKey.size;
  }

  /** Takes a new socket; returns false when it was closed at once. */
  accept(socket: net.Socket): boolean {
    const peer = peerOf(socket.remoteAddress);
    const conn: Connection = { socket, peer, key: keyOf(socket.remoteAddress, socket.remotePort), calls: 0, lastUsed: Date.now(), rejected: '' };
    const peerCount = this.perPeer.get(peer) ?? 0;
    if (peerCount >= this.limits.maxConnectionsPerPeer && !this.evictIdle(peer)) {
      conn.rejected = `too many connections from ${peer} (max ${this.limits.maxConnectionsPerPeer} per peer, none of them idle)`;
    } else if (this.admitted >= this.limits.maxConnections && !this.evictIdle(null)) {
      conn.rejected = `too many connections (max ${this.limits.maxConnections}, none of them idle)`;
    }
    if (conn.rejected) {
      this.note(`connection from ${peer} refused: ${conn.rejected}`);
      if (this.lingering >= MAX_LINGERING) {
        socket.destroy();
        return false;
      }
      this.lingering++;
      const timer = setTimeout(() => socket.destroy(), REJECT_LINGER_MS);
      timer.unref();
    } else {
      this.admitted++;
      this.perPeer.set(peer, peerCount + 1);
    }
    this.byKey.set(conn.key, conn);
    socket.once('close', () => {
      if (this.byKey.get(conn.key) === conn) this.byKey.delete(conn.key);
      if (conn.rejected === EVICTED) return; // uncounted when it was evicted
      if (conn.rejected) {
        this.lingering--;
        return;
      }
      this.admitted--;
      const left = (this.perPeer.get(peer) ?? 1) - 1;
      if (left > 0) this.perPeer.set(peer, left);
      else this.perPeer.delete(peer);
    });
    socket.on('error', () => undefined); // a reset by the peer; 'close' follows
    return true;
  }

  /** Closes the least recently used admitted connection without calls (of `peer`, or any). */
  private evictIdle(peer: string | null): boolean {
    const now = Date.now();
    let victim: Connection | null = null;
    for (const c of this.byKey.values()) {
      if (c.rejected || c.calls > 0 || (peer !== null && c.peer !== peer) || now - c.lastUsed < EVICT_MIN_IDLE_MS) continue;
      if (!victim || c.lastUsed < victim.lastUsed) victim = c;
    }
    if (!victim) return false;
    this.note(`connection limit reached; closed an idle connection from ${victim.peer} to admit a new one`);
    // Counted free now: its 'close' event only follows once the socket is torn down.
    this.byKey.delete(victim.key);
    victim.rejected = EVICTED;
    this.admitted--;
    const left = (this.perPeer.get(victim.peer) ?? 1) - 1;
    if (left > 0) this.perPeer.set(victim.peer, left);
    else this.perPeer.delete(victim.peer);
    victim.socket.destroy();
    return true;
  }

  /** Logs a limit event (rate-limited). */
  warn(line: string): void {
    this.note(line);
  }

  /** Logs limit events, at most one line per LOG_INTERVAL_MS (an attack must not flood the log). */
  private note(line: string): void {
    const now = Date.now();
    if (now - this.lastLog < LOG_INTERVAL_MS) {
      this.unlogged++;
      return;
    }
    const more = this.unlogged ? ` (and ${this.unlogged} more limit event(s) in the last ${Math.round((now - this.lastLog) / 1000)} s)` : '';
    this.lastLog = now;
    this.unlogged = 0;
    this.log(line + more);
  }

  private find(call: grpc.ServerInterceptingCallInterface): Connection | undefined {
    const info = call.getConnectionInfo();
    return this.byKey.get(keyOf(info.remoteAddress, info.remotePort));
  }

  /** Calls waiting for a receiving slot, oldest first (their streams stay paused). */
  private readonly waiting: (() => void)[] = [];

  /** Lets the oldest waiting call start receiving, if any. */
  private admitWaiting(): void {
    while (this.receiving < this.limits.maxReceivingRequests && this.waiting.length) this.waiting.shift()!();
  }

  /**
   * The server interceptor: refuses calls on connections admitted over the limit; lets at
   * most maxReceivingRequests calls read their request at once. grpc-js reads a call's body
   * only after its metadata has been passed on (its unary handler calls startRead() then; the
   * HTTP/2 stream stays paused until), so a call over the limit waits with at most one
   * flow-control window (RECEIVE_WINDOW) received, until a slot frees or the client gives up.
   */
  readonly interceptor: grpc.ServerInterceptor = (_method, call) => {
    const conn = this.find(call);
    let state: 'new' | 'waiting' | 'receiving' | 'received' | 'done' = 'new';
    let timer: NodeJS.Timeout | undefined;
    let wake: (() => void) | null = null;
    const stopReceiving = (): void => {
      if (state === 'waiting' && wake) {
        const i = this.waiting.indexOf(wake);
        if (i >= 0) this.waiting.splice(i, 1);
        state = 'received';
        return;
      }
      if (state !== 'receiving') return;
      state = 'received';
      this.receiving--;
      if (timer) clearTimeout(timer);
      this.admitWaiting();
    };
    const end = (): void => {
      stopReceiving();
      if (state !== 'received') return; // refused before it was counted, or already ended
      state = 'done';
      if (conn) {
        conn.calls--;
        conn.lastUsed = Date.now();
      }
    };
    const refuse = (details: string): void => {
      call.sendStatus({ code: grpc.status.RESOURCE_EXHAUSTED, details: `gpss-pg: ${details}; try again later` });
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, mdNext) => {
            if (conn?.rejected) {
              refuse(conn.rejected === EVICTED ? 'connection closed to make room for others' : conn.rejected);
              return;
            }
            const begin = (): void => {
              state = 'receiving';
              this.receiving++;
              timer = setTimeout(() => {
                if (state !== 'receiving') return;
                this.note(`request from ${conn?.peer ?? 'unknown'} not received within ${this.limits.requestReceiveTimeoutS} s; closing its connection`);
                call.sendStatus({ code: grpc.status.DEADLINE_EXCEEDED, details: `gpss-pg: request message not received within ${this.limits.requestReceiveTimeoutS} s` });
                end();
                // grpc-js keeps the partial message until the stream closes: close the connection.
                const sock = conn?.socket;
                if (sock) setTimeout(() => sock.destroy(), 200).unref();
              }, this.limits.requestReceiveTimeoutS * 1000);
              timer.unref();
              mdNext(metadata);
            };
            if (this.receiving < this.limits.maxReceivingRequests) {
              begin();
            } else if (this.waiting.length < MAX_WAITING_REQUESTS) {
              state = 'waiting';
              wake = begin;
              this.waiting.push(begin);
            } else {
              this.note(`request refused: ${this.receiving} requests being received and ${this.waiting.length} waiting`);
              refuse(`too many requests at once (${this.limits.maxReceivingRequests} being received, ${MAX_WAITING_REQUESTS} waiting)`);
              return;
            }
            if (conn) {
              conn.calls++;
              conn.lastUsed = Date.now();
            }
          },
          onReceiveMessage: (message, msgNext) => {
            stopReceiving();
            msgNext(message);
          },
          onCancel: end,
        });
      },
      sendStatus: (status, statusNext) => {
        end();
        statusNext(status);
      },
    });
  };
}

/**
 * HTTP/2 receive window of gpss-pg's connections, per stream and per connection (HTTP/2's
 * default is 64 KiB for both). nghttp2 answers every half window consumed with a
 * WINDOW_UPDATE: with 64 KiB that was a write() to the client's socket for every ~32 KiB of
 * Write data (~2,300 per million benchmark rows), 7 % of gpss-pg's CPU in the profile, and a
 * client that stalls for each one. 256 KiB sends a quarter of them. The connection window
 * equals the stream window, so what waiting calls can make us hold stays at
 * maxConnections × 256 KiB = 32 MiB (the file comment), as with 512 × 64 KiB before.
 */
export const RECEIVE_WINDOW = 256 << 10;

/** Sets a new HTTP/2 session's receive windows to RECEIVE_WINDOW (see there). */
function widenReceiveWindow(session: http2.ServerHttp2Session): void {
  try {
    session.settings({ initialWindowSize: RECEIVE_WINDOW });
    session.setLocalWindowSize(RECEIVE_WINDOW);
  } catch {
    // a session already closing: nothing to widen
  }
}

/** Pings without a strike after a call started or the interval passed; grpc-go allows 2. */
const MAX_PING_STRIKES = 2;

/**
 * Keepalive enforcement as grpc-go does it (transport/http2_server.go handlePing): a client
 * ping sooner than minPingIntervalS after the previous one is a strike (a new call clears
 * them); past MAX_PING_STRIKES the connection gets GOAWAY ENHANCE_YOUR_CALM "too_many_pings"
 * (which grpc clients understand: they double their keepalive interval) and is closed.
 * grpc-js has no such policy and no public hook for its HTTP/2 sessions, so this reads its
 * private `http2Servers` map (present in 1.10–1.14); without it the policy is skipped with a
 * log line (every other limit still holds). The same hook widens each session's receive
 * window (RECEIVE_WINDOW).
 */
function enforcePingPolicy(server: grpc.Server, gate: ConnectionGate): void {
  const servers = (server as unknown as { http2Servers?: Map<http2.Http2Server | http2.Http2SecureServer, unknown> }).http2Servers;
  const latest = servers instanceof Map ? [...servers.keys()].pop() : undefined;
  if (!latest || typeof latest.on !== 'function') {
    gate.warn('this @grpc/grpc-js exposes no HTTP/2 sessions; client ping rate is not enforced');
    return;
  }
  const minMs = gate.limits.minPingIntervalS * 1000;
  latest.on('session', (session: http2.ServerHttp2Session) => {
    widenReceiveWindow(session);
    let last = 0;
    let strikes = 0;
    session.on('stream', () => (strikes = 0));
    session.on('ping', () => {
      const now = Date.now();
      if (last && now - last < minMs) strikes++;
      last = now;
      if (strikes <= MAX_PING_STRIKES || session.closed || session.destroyed) return;
      gate.warn(`closing a connection from ${session.socket?.remoteAddress ?? 'unknown'}: pings more often than every ${gate.limits.minPingIntervalS} s`);
      session.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 0, Buffer.from('too_many_pings'));
      setTimeout(() => session.destroy(), 1000).unref();
    });
  });
}

/**
 * Listens on HOST:PORT with our own net.Server and hands admitted sockets to `server`
 * (see the file comment). Returns the bound port and a close function.
 */
export async function listenWithLimits(
  server: grpc.Server,
  creds: grpc.ServerCredentials,
  host: string,
  port: number,
  gate: ConnectionGate,
): Promise<{ port: number; close(): void }> {
  const injector = server.createConnectionInjector(creds);
  enforcePingPolicy(server, gate);
  const listener = net.createServer({ noDelay: true }, (socket) => {
    if (gate.accept(socket)) injector.injectConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen({ host, port }, () => {
      listener.removeListener('error', reject);
      resolve();
    });
  });
  listener.on('error', () => undefined); // accept errors (EMFILE…) must not crash the process
  const bound = (listener.address() as net.AddressInfo).port;
  return {
    port: bound,
    close() {
      listener.close();
      injector.destroy();
    },
  };
}
