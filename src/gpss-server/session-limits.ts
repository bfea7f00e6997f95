// Limits on what one client can hold in the database through gpss-pg sessions: how long an
// idle session keeps its connection, how many connections one database user may hold, and a
// headroom of max_connections that gpss-pg never takes (so other applications can still log in).
import type { Client } from 'pg';

/** Node's timers hold at most 2^31-1 ms; a longer delay fires after 1 ms (TimeoutOverflowWarning). */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** Largest accepted --max-session-timeout: one that Node's timers can still wait for. */
export const MAX_SESSION_TIMEOUT_LIMIT_S = Math.floor(MAX_TIMER_MS / 1000);
export const DEFAULT_MAX_SESSION_TIMEOUT_S = 3600;
/**
 * Sessions one database user may hold through this gpss-pg at once. PostgreSQL's default
 * max_connections is 100; one gpss-connect holds one session, so 20 serves several parallel
 * loads of one application while four users together still leave slots for everyone else.
 */
export const DEFAULT_MAX_SESSIONS_PER_USER = 20;

/**
 * The idle timeout of a new session, in seconds: SessionTimeout (int32) clamped to
 * [1, max]; 0 or a negative value means the server default, which is the maximum.
 */
export function effectiveSessionTimeout(requested: number, maxSeconds: number): number {
  const n = Number.isFinite(requested) ? Math.trunc(requested) : 0;
  if (n <= 0) return maxSeconds;
  return Math.min(n, maxSeconds);
}

/** Checks a --max-session-timeout value (seconds); returns the problem or null. */
export function checkMaxSessionTimeout(seconds: number): string | null {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_SESSION_TIMEOUT_LIMIT_S) {
    return `max session timeout must be a whole number of seconds from 1 to ${MAX_SESSION_TIMEOUT_LIMIT_S} (Node's timer limit), got ${seconds}`;
  }
  return null;
}

/**
 * Counts sessions (and Connects in progress) per database user on one server, so that the
 * check and the increment happen together before the connection is opened.
 */
export class UserSessionQuota {
  private readonly held = new Map<string, number>();

  constructor(private readonly maxPerUser: number) {}

  /** Reserves one session for `user`; returns the release function or null when the user is at the limit. */
  acquire(user: string): (() => void) | null {
    const n = this.held.get(user) ?? 0;
    if (n >= this.maxPerUser) return null;
    this.held.set(user, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(user) ?? 1) - 1;
      if (left > 0) this.held.set(user, left);
      else this.held.delete(user);
    };
  }

  count(user: string): number {
    return this.held.get(user) ?? 0;
  }

  get limit(): number {
    return this.maxPerUser;
  }
}

/** Connection slots of max_connections that gpss-pg leaves free for other applications. */
export function reservedSlots(maxConnections: number): number {
  return Math.max(3, Math.ceil(maxConnections / 10));
}

/**
 * After a session's connection is open: is the database close to max_connections? Returns
 * the problem or null. Counts client backends (ours included). A role without
 * pg_read_all_stats sees other users' rows with backend_type NULL; those with a database
 * (datid) are client backends, background processes have none. PostgreSQL without
 * pg_stat_activity.backend_type (before 10) is not checked.
 */
export async function connectionHeadroomProblem(client: Client): Promise<string | null> {
  let row: { max: number; reserved: number; used: number };
  try {
    const res = await client.query(
      `SELECT current_setting('max_connections')::int AS max, current_setting('superuser_reserved_connections')::int AS reserved,
              (SELECT count(*)::int FROM pg_stat_activity
                WHERE backend_type = 'client backend' OR (backend_type IS NULL AND datid IS NOT NULL)) AS used`,
    );
    row = res.rows[0];
  } catch {
    return null;
  }
  const usable = row.max - row.reserved;
  const keep = reservedSlots(usable);
  if (row.used > usable - keep) {
    return `the database has ${row.used} of ${usable} connections in use; gpss-pg leaves the last ${keep} to other applications (raise max_connections or Disconnect unused sessions)`;
  }
  return null;
}
