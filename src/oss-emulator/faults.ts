// Fault injection: decides, per request, whether to misbehave and how. The kinds mirror
// what clients meet in production: 5xx answers, connection resets, slow and truncated
// bodies. Rate and kinds can be changed while the server runs (tests flip them).
export type FaultKind = '500' | '503' | 'reset' | 'slow' | 'truncate';

export const FAULT_KINDS: readonly FaultKind[] = ['500', '503', 'reset', 'slow', 'truncate'];

export interface RequestInfo { method: string; bucket: string; key: string; operation: string }

export interface FaultSettings {
  /** Probability 0..1 that an eligible request gets a fault. */
  rate: number;
  /** Kinds to choose from (uniformly); default all. */
  kinds?: FaultKind[];
  /** Only requests for which this returns true are eligible (default: all). */
  match?: (info: RequestInfo) => boolean;
  /** Stop after this many injected faults (default: unlimited). */
  limit?: number;
  /** 'slow': object bodies are trickled at this rate (default 64 KiB/s). */
  slowBytesPerSecond?: number;
  /** 'slow': responses without an object body are held back this long (default 2000 ms). */
  slowDelayMs?: number;
}

export function parseFaultKinds(text: string): FaultKind[] {
  const kinds = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const k of kinds) {
    if (!(FAULT_KINDS as readonly string[]).includes(k)) {
      throw new Error(`unknown fault kind "${k}"; expected a comma-separated list of ${FAULT_KINDS.join(', ')}`);
    }
  }
  return kinds as FaultKind[];
}

export class FaultInjector {
  private settings: Required<Omit<FaultSettings, 'match' | 'limit'>> & Pick<FaultSettings, 'match' | 'limit'>;
  private injected = 0;

  constructor(initial: FaultSettings = { rate: 0 }) {
    this.settings = this.normalise(initial);
  }

  private normalise(f: FaultSettings): FaultInjector['settings'] {
    if (!(f.rate >= 0 && f.rate <= 1)) throw new Error(`fault rate must be between 0 and 1, got ${f.rate}`);
    const kinds = f.kinds && f.kinds.length ? [...f.kinds] : [...FAULT_KINDS];
    for (const k of kinds) if (!FAULT_KINDS.includes(k)) throw new Error(`unknown fault kind "${k}"`);
    return {
      rate: f.rate,
      kinds,
      match: f.match,
      limit: f.limit,
      slowBytesPerSecond: f.slowBytesPerSecond ?? 64 * 1024,
      slowDelayMs: f.slowDelayMs ?? 2000,
    };
  }

  set(f: FaultSettings): void {
    this.settings = this.normalise(f);
    this.injected = 0;
  }

  get slowBytesPerSecond(): number { return this.settings.slowBytesPerSecond; }
  get slowDelayMs(): number { return this.settings.slowDelayMs; }

  pick(info: RequestInfo): FaultKind | undefined {
    const s = this.settings;
    if (s.rate <= 0) return undefined;
    if (s.limit !== undefined && this.injected >= s.limit) return undefined;
    if (s.match && !s.match(info)) return undefined;
    if (Math.random() >= s.rate) return undefined;
    this.injected++;
    return s.kinds[Math.floor(Math.random() * s.kinds.length)];
  }
}
