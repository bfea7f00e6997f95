// Node-RED message sequences (msg.parts), as the core split/join nodes use them
// (@node-red/nodes/core/sequence/17-split.js): { id, index, count?, …, parts?: <outer parts> }.
// A node that splits an already-split message keeps the incoming parts under parts.parts, so a
// join restores the outer sequence. `count` may be unknown until the last part; the last part of
// a sequence whose length was not known in advance also sets msg.complete (join's manual mode).

export interface Parts {
  id: string;
  index: number;
  count?: number;
  parts?: unknown;
  [k: string]: unknown;
}

/** The parts of one message of a new sequence, nested over the incoming message's parts. */
export function nestedParts(outer: unknown, id: string, index: number, count?: number): Parts {
  const p: Parts = { id, index };
  if (count !== undefined) p.count = count;
  if (outer !== undefined && outer !== null) p.parts = outer;
  return p;
}

/** msg.parts when it names a sequence (an id and an index), else null. */
export function partsOf(msg: { parts?: unknown }): Parts | null {
  const p = msg.parts as Partial<Parts> | undefined;
  if (!p || typeof p !== 'object') return null;
  if ((typeof p.id !== 'string' && typeof p.id !== 'number') || typeof p.index !== 'number' || !Number.isInteger(p.index) || p.index < 0) return null;
  return p as Parts;
}

function validCount(n: unknown): number | undefined {
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : undefined;
}

export interface PartSeen {
  id: string;
  /** Parts counted so far (this one included). */
  seen: number;
  /** The sequence's length, once a part carried it. */
  count?: number;
  /** Every part of the sequence was counted: the sequence is finished. */
  finished: boolean;
}

/**
 * Counts the parts of open sequences by parts.id (never the messages themselves: memory is one
 * small record per open sequence). A sequence is finished when as many parts were counted as
 * some part's parts.count says, whatever order they came in. At most `maxOpen` sequences are
 * open at once: one more is an error rather than unbounded growth.
 */
export class SequenceCounter<T = unknown> {
  private readonly open = new Map<string, { seen: number; count?: number; last: number; data?: T }>();
  constructor(private readonly maxOpen = 1000) {}

  /** Counts one part; throws on a part index at or beyond a known count. */
  add(parts: Parts, data?: T): PartSeen {
    const id = String(parts.id);
    let s = this.open.get(id);
    if (!s) {
      if (this.open.size >= this.maxOpen) throw new Error(`more than ${this.maxOpen} message sequences (msg.parts.id) are open at once`);
      s = { seen: 0, last: Date.now() };
      this.open.set(id, s);
    }
    const count = validCount(parts.count);
    if (count !== undefined) s.count = count;
    if (s.count !== undefined && parts.index >= s.count) {
      this.open.delete(id);
      throw new Error(`msg.parts.index ${parts.index} is not below msg.parts.count ${s.count} (sequence ${id})`);
    }
    s.seen++;
    s.last = Date.now();
    if (data !== undefined) s.data = data;
    const finished = s.count !== undefined && s.seen >= s.count;
    if (finished) this.open.delete(id);
    return { id, seen: s.seen, ...(s.count !== undefined ? { count: s.count } : {}), finished };
  }

  /** Sequences with no part for `idleMs`, removed from the counter (for a timeout error). */
  takeIdle(idleMs: number, now = Date.now()): Array<{ id: string; seen: number; count?: number; data?: T }> {
    const out: Array<{ id: string; seen: number; count?: number; data?: T }> = [];
    for (const [id, s] of this.open) {
      if (now - s.last >= idleMs) {
        this.open.delete(id);
        out.push({ id, seen: s.seen, ...(s.count !== undefined ? { count: s.count } : {}), ...(s.data !== undefined ? { data: s.data } : {}) });
      }
    }
    return out;
  }

  get size(): number {
    return this.open.size;
  }
}
