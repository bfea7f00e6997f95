// Slows down password guessing: after a failed Connect, a peer's next Connects wait their turn,
// one at a time, each after a delay that doubles per consecutive failure (capped). A successful
// Connect clears the peer's record when it logs in as the user(s) that failed (a mistyped
// password, then fixed) — not when it logs in as someone else, or a peer holding one valid
// login could reset its backoff between guesses at another user's password. Peers that never
// failed are not delayed at all.

export interface ConnectBackoffOptions {
  /** Delay before the attempt after the first failure; doubles per further failure. */
  baseMs?: number;
  /** Largest delay. */
  maxMs?: number;
  /** A record untouched this long is forgotten. */
  forgetAfterMs?: number;
  /** Peers remembered at most; the least recently failed are dropped first. */
  maxPeers?: number;
  /** Connects of one failing peer allowed to wait at once; more are refused at once. */
  maxWaiting?: number;
  /** No backoff at all (`--login-backoff-max-ms 0`): every Connect runs at once. */
  off?: boolean;
}

/** Failed user names remembered per peer; beyond this a success no longer clears the record. */
const MAX_FAILED_USERS = 32;

interface PeerRecord {
  failures: number;
  /** Users whose logins failed; null when there were too many to remember. */
  failedUsers: Set<string> | null;
  lastFailureAt: number;
  waiting: number;
  /** The peer's previous gated attempt: attempts of a failing peer run one after another. */
  tail: Promise<void>;
}

export class TooManyWaitingError extends Error {}

/** The address part of grpc-js `call.getPeer()` ('127.0.0.1:5555', '::1:5555', 'unknown'). */
export function peerHost(peer: string): string {
  const m = /^(.*):(\d+)$/.exec(peer);
  let host = m && m[1] ? m[1] : peer;
  host = host.replace(/^\[|\]$/g, '').toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
  return mapped ? mapped[1] : host;
}

/** The delay before the next attempt of a peer with `failures` consecutive failures. */
export function backoffDelayMs(failures: number, baseMs: number, maxMs: number): number {
  if (failures <= 0) return 0;
  return Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30));
}

export class ConnectBackoff {
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly forgetAfterMs: number;
  private readonly maxPeers: number;
  private readonly maxWaiting: number;
  private readonly off: boolean;
  private readonly peers = new Map<string, PeerRecord>();

  constructor(options: ConnectBackoffOptions = {}) {
    this.baseMs = options.baseMs ?? 250;
    this.maxMs = options.maxMs ?? 2000;
    this.forgetAfterMs = options.forgetAfterMs ?? 15 * 60 * 1000;
    this.maxPeers = options.maxPeers ?? 10000;
    this.maxWaiting = options.maxWaiting ?? 16;
    this.off = options.off === true;
  }

  /** Consecutive failures remembered for this peer (0 when none). */
  failuresOf(host: string): number {
    return this.live(host)?.failures ?? 0;
  }

  /**
   * Runs `attempt` for `host`: at once when the peer has no failures on record, otherwise
   * after the peer's earlier attempts and the backoff delay. `isFailure` says which errors
   * count (a wrong password, a refused host), as opposed to, say, an unreachable database.
   */
  async run<T>(host: string, user: string, attempt: () => Promise<T>, isFailure: (err: unknown) => boolean): Promise<T> {
    if (this.off) return attempt();
    const rec = this.live(host);
    if (!rec) return this.settle(host, user, attempt, isFailure);
    if (rec.waiting >= this.maxWaiting) throw new TooManyWaitingError(`too many Connects waiting after failed logins from ${host}; retry later`);
    rec.waiting++;
    const turn = rec.tail.then(async () => {
      // Failures may have changed while this attempt queued (a success clears them).
      const delay = backoffDelayMs(this.failuresOf(host), this.baseMs, this.maxMs);
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    });
    const result = turn.then(() => this.settle(host, user, attempt, isFailure));
    rec.tail = result.then(
      () => undefined,
      () => undefined,
    );
    try {
      return await result;
    } finally {
      rec.waiting--;
    }
  }

  private async settle<T>(host: string, user: string, attempt: () => Promise<T>, isFailure: (err: unknown) => boolean): Promise<T> {
    try {
      const value = await attempt();
      const rec = this.peers.get(host);
      if (rec && rec.failedUsers && [...rec.failedUsers].every((u) => u === user)) {
        // Keep the record while attempts still queue on it; they pass without delay now.
        rec.failures = 0;
        rec.failedUsers.clear();
        if (rec.waiting <= 1) this.peers.delete(host);
      }
      return value;
    } catch (err) {
      if (isFailure(err)) this.recordFailure(host, user);
      throw err;
    }
  }

  private recordFailure(host: string, user: string): void {
    const rec = this.peers.get(host) ?? { failures: 0, failedUsers: new Set<string>(), lastFailureAt: 0, waiting: 0, tail: Promise.resolve() };
    rec.failures++;
    if (rec.failedUsers) {
      rec.failedUsers.add(user);
      if (rec.failedUsers.size > MAX_FAILED_USERS) rec.failedUsers = null;
    }
    rec.lastFailureAt = Date.now();
    // Re-insert so that Map order is least recently failed first.
    this.peers.delete(host);
    this.peers.set(host, rec);
    while (this.peers.size > this.maxPeers) {
      const oldest = this.peers.keys().next().value as string;
      this.peers.delete(oldest);
    }
  }

  private live(host: string): PeerRecord | undefined {
    const rec = this.peers.get(host);
    if (rec && rec.waiting === 0 && Date.now() - rec.lastFailureAt > this.forgetAfterMs) {
      this.peers.delete(host);
      return undefined;
    }
    return rec;
  }
}
