// Connection probe of a config node: one bounded check run right after deploy (SELECT 1, a GPSS
// Connect + ListSchema, a bucket request) whose result every node using the config node shows
// as its status before its first message — the way Node-RED's MQTT broker node pushes its
// connection state to its users (core 10-mqtt.js). The probe never blocks the deploy, never
// holds state the real work depends on (a failed probe does not stop the next message from
// connecting as usual), and its reason text is redacted by the config node.
import { EventEmitter } from 'node:events';
import { translator } from './i18n';
import { oneLine } from './errors';

export type ProbeState = 'probing' | 'ready' | 'unreachable';

export interface ProbeResult {
  state: ProbeState;
  /** Why the probe failed (redacted, one line). */
  reason?: string;
  /** Milliseconds the probe took. */
  ms?: number;
}

/** Default bound of one probe; the config nodes' own timeouts may be shorter. */
export const PROBE_TIMEOUT_MS = 10000;

/** Resolves or rejects like `p`, or rejects after `ms` naming what timed out. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

export class ConfigProbe {
  private current: ProbeResult = { state: 'probing' };
  private readonly emitter = new EventEmitter();
  private closed = false;
  private runs = 0;

  constructor(private readonly redact: (text: string) => string = (t) => t) {
    // Every node using the config node listens: many of them is normal.
    this.emitter.setMaxListeners(0);
  }

  get result(): ProbeResult {
    return this.current;
  }

  /**
   * Runs `check` once, after the current tick (so the deploy goes on), bounded by `timeoutMs`.
   * Resolves with the result (never rejects) so callers may log it.
   */
  run(check: () => Promise<unknown>, timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResult> {
    const run = ++this.runs;
    this.set({ state: 'probing' });
    return new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => {
        const t0 = Date.now();
        return withTimeout(Promise.resolve().then(check), timeoutMs, 'connection check').then(
          (): ProbeResult => ({ state: 'ready', ms: Date.now() - t0 }),
          (err: unknown): ProbeResult => ({
            state: 'unreachable',
            reason: oneLine(this.redact(err instanceof Error ? err.message : String(err))),
            ms: Date.now() - t0,
          }),
        );
      })
      .then((r) => {
        // A newer run or a close supersedes this one.
        if (run === this.runs && !this.closed) this.set(r);
        return r;
      });
  }

  /** Calls `listener` now with the current result and on every change; returns the unsubscribe. */
  watch(listener: (r: ProbeResult) => void): () => void {
    this.emitter.on('result', listener);
    listener(this.current);
    return () => this.emitter.removeListener('result', listener);
  }

  close(): void {
    this.closed = true;
    this.emitter.removeAllListeners();
  }

  private set(r: ProbeResult): void {
    if (this.closed) return;
    this.current = r;
    this.emitter.emit('result', r);
  }
}

/** A config node that probes its connection (greenplum-db, gpss-server, oss-account). */
export interface ProbedConfig {
  probe?: ConfigProbe;
}

export interface ProbeStatusTexts {
  /** Shown while a probe runs. */
  connecting: string;
  ready: string;
  unreachable(reason: string): string;
}

export interface NodeStatusLike {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

/**
 * The combined status of several probes (an oss node uses an account and a database): the first
 * unreachable one wins, then any still probing, else ready. Core nodes' convention: green dot
 * ready, yellow ring connecting, red ring unreachable.
 */
function probeStatus(results: readonly ProbeResult[], texts: ProbeStatusTexts): NodeStatusLike | null {
  if (results.length === 0) return null;
  const bad = results.find((r) => r.state === 'unreachable');
  if (bad) return { fill: 'red', shape: 'ring', text: texts.unreachable(oneLine(bad.reason ?? '', 40)) };
  if (results.some((r) => r.state === 'probing')) return { fill: 'yellow', shape: 'ring', text: texts.connecting };
  return { fill: 'green', shape: 'dot', text: texts.ready };
}

/**
 * Shows the probes of the config nodes a flow node uses as its status until `stop()` (called on
 * the node's first message: from then on the node's own status tells what happens).
 */
export function watchProbes(
  configs: readonly (ProbedConfig | null | undefined)[],
  texts: ProbeStatusTexts,
  setStatus: (s: NodeStatusLike) => void,
): { stop(): void } {
  const probes = configs.map((c) => c?.probe).filter((p): p is ConfigProbe => !!p);
  const results: ProbeResult[] = probes.map((p) => p.result);
  let stopped = false;
  let ready = false;
  const show = (): void => {
    if (stopped || !ready) return;
    const s = probeStatus(results, texts);
    if (s) setStatus(s);
  };
  const unsubscribe = probes.map((p, i) =>
    p.watch((r) => {
      results[i] = r;
      show();
    }),
  );
  ready = true;
  show();
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      for (const u of unsubscribe) u();
    },
  };
}

/**
 * The probe texts of a node type from its locale file (`<type>.status.ready`,
 * `<type>.status.unreachable`): static texts go as keys the editor translates (as core nodes send
 * `node-red:common.status.connected`), texts with a value are translated in the runtime.
 */
export function probeTexts(RED: { _: (key: string, vars?: Record<string, string | number>) => string }, type: string): ProbeStatusTexts {
  const t = translator(RED, type);
  return {
    connecting: 'node-red:common.status.connecting',
    ready: `${type}.status.ready`,
    unreachable: (reason: string) => t('status.unreachable', { reason }),
  };
}
