// Command-line flags of gpss-pg's resource limits (limits.ts, session-limits.ts): one table
// gives the parser, the usage text and the README's list.
import type { GpssServerOptions } from './index';
import { DEFAULT_LISTENER_LIMITS, DEFAULT_MAX_MESSAGE_MB, type ListenerLimits } from './limits';
import { DEFAULT_MAX_SESSION_TIMEOUT_S, DEFAULT_MAX_SESSIONS_PER_USER } from './session-limits';

interface LimitFlag {
  flag: string;
  help: string;
  defaultValue: number;
  zeroAllowed?: boolean; // 0 = off
  integer?: boolean;
  set(opts: GpssServerOptions, v: number): void;
}

const listener = (key: keyof ListenerLimits) => (opts: GpssServerOptions, v: number) => {
  opts.limits = { ...opts.limits, [key]: v };
};

export const LIMIT_FLAGS: readonly LimitFlag[] = [
  { flag: '--max-message-mb', help: 'largest request accepted, MiB', defaultValue: DEFAULT_MAX_MESSAGE_MB, set: (o, v) => (o.maxMessageMb = v) },
  { flag: '--max-session-timeout', help: 'longest session idle timeout in seconds; SessionTimeout 0 means this', defaultValue: DEFAULT_MAX_SESSION_TIMEOUT_S, integer: true, set: (o, v) => (o.maxSessionTimeoutS = v) },
  { flag: '--max-sessions-per-user', help: 'sessions one database user may hold', defaultValue: DEFAULT_MAX_SESSIONS_PER_USER, integer: true, set: (o, v) => (o.maxSessionsPerUser = v) },
  { flag: '--max-connections', help: 'open gRPC connections in total', defaultValue: DEFAULT_LISTENER_LIMITS.maxConnections, integer: true, set: listener('maxConnections') },
  { flag: '--max-connections-per-peer', help: 'open gRPC connections from one IP address', defaultValue: DEFAULT_LISTENER_LIMITS.maxConnectionsPerPeer, integer: true, set: listener('maxConnectionsPerPeer') },
  { flag: '--max-streams-per-connection', help: 'concurrent calls on one connection', defaultValue: DEFAULT_LISTENER_LIMITS.maxStreamsPerConnection, integer: true, set: listener('maxStreamsPerConnection') },
  { flag: '--max-receiving-requests', help: 'requests read at once, all connections (others wait)', defaultValue: DEFAULT_LISTENER_LIMITS.maxReceivingRequests, integer: true, set: listener('maxReceivingRequests') },
  { flag: '--request-receive-timeout', help: 'seconds a request may take to arrive', defaultValue: DEFAULT_LISTENER_LIMITS.requestReceiveTimeoutS, set: listener('requestReceiveTimeoutS') },
  { flag: '--connection-idle-timeout', help: 'close connections without calls after N seconds (0 = never)', defaultValue: DEFAULT_LISTENER_LIMITS.connectionIdleS, zeroAllowed: true, set: listener('connectionIdleS') },
  { flag: '--connection-max-age', help: 'ask connections to reconnect after N seconds (0 = never)', defaultValue: DEFAULT_LISTENER_LIMITS.connectionAgeS, zeroAllowed: true, set: listener('connectionAgeS') },
  { flag: '--connection-age-grace', help: 'seconds calls in progress get after that', defaultValue: DEFAULT_LISTENER_LIMITS.connectionAgeGraceS, zeroAllowed: true, set: listener('connectionAgeGraceS') },
  { flag: '--keepalive-time', help: 'ping a connection after N seconds without activity', defaultValue: DEFAULT_LISTENER_LIMITS.keepaliveTimeS, set: listener('keepaliveTimeS') },
  { flag: '--keepalive-timeout', help: 'close it when the ping is unanswered after N seconds', defaultValue: DEFAULT_LISTENER_LIMITS.keepaliveTimeoutS, set: listener('keepaliveTimeoutS') },
  { flag: '--min-ping-interval', help: 'client pings closer than N s apart are strikes; the third closes the connection (0 = off)', defaultValue: DEFAULT_LISTENER_LIMITS.minPingIntervalS, zeroAllowed: true, set: listener('minPingIntervalS') },
];

/** Applies `--flag value` when it is a limit flag; returns false for other flags. Throws on a bad value. */
export function applyLimitFlag(opts: GpssServerOptions, flag: string, value: () => string): boolean {
  const f = LIMIT_FLAGS.find((x) => x.flag === flag);
  if (!f) return false;
  const raw = value();
  const n = Number(raw);
  const ok = raw.trim() !== '' && Number.isFinite(n) && (f.zeroAllowed ? n >= 0 : n > 0) && (!f.integer || Number.isInteger(n));
  if (!ok) throw new Error(`${flag} must be a ${f.integer ? 'whole' : ''}${f.integer ? ' ' : ''}number ${f.zeroAllowed ? '≥ 0' : '> 0'} (got ${JSON.stringify(raw)})`);
  f.set(opts, n);
  return true;
}

/** Usage lines of the limit flags. */
export function limitFlagsUsage(): string {
  return LIMIT_FLAGS.map((f) => `  ${`${f.flag} N`.padEnd(33)}${f.help} (default ${f.defaultValue})`).join('\n');
}
