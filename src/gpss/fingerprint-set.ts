// A set of 64-bit fingerprints in one typed array: what a load job remembers of its match keys
// (key-index.ts). Compact: 8 bytes a slot and no object per entry, where a Set of key strings
// costs a string and a table entry per key, several times that. Pure; unit-tested.

const INITIAL_SLOTS = 1024;

/**
 * A set of 64-bit fingerprints (hi, lo uint32) with linear probing in one Uint32Array, a power
 * of two slots that doubles to stay at most half full (the caller bounds how many it adds: 16–32
 * bytes per fingerprint). (0, 0) marks an empty slot, so a fingerprint (0, 0) is stored as
 * (0, 1): one more value that may collide, harmless.
 */
export class FingerprintSet {
  private table: Uint32Array;
  private mask: number;
  size = 0;

  constructor(initialSlots = INITIAL_SLOTS) {
    const slots = 1 << Math.max(4, Math.ceil(Math.log2(initialSlots)));
    this.table = new Uint32Array(slots * 2);
    this.mask = slots - 1;
  }

  /** Bytes held by the table. */
  get bytes(): number {
    return this.table.byteLength;
  }

  private slotOf(hi: number, lo: number): number {
    // The low bits of a SipHash output are as good as any: no extra mixing needed.
    let i = lo & this.mask;
    const t = this.table;
    for (;;) {
      const h = t[2 * i];
      const l = t[2 * i + 1];
      if ((h === hi && l === lo) || (h === 0 && l === 0)) return i;
      i = (i + 1) & this.mask;
    }
  }

  has(hi: number, lo: number): boolean {
    if (hi === 0 && lo === 0) lo = 1;
    const i = this.slotOf(hi, lo);
    return this.table[2 * i] !== 0 || this.table[2 * i + 1] !== 0;
  }

  /** Adds a fingerprint; false when it was there already. */
  add(hi: number, lo: number): boolean {
    if (hi === 0 && lo === 0) lo = 1;
    if ((this.size + 1) * 2 > this.mask + 1) this.grow();
    const i = this.slotOf(hi, lo);
    const t = this.table;
    if (t[2 * i] !== 0 || t[2 * i + 1] !== 0) return false;
    t[2 * i] = hi;
    t[2 * i + 1] = lo;
    this.size++;
    return true;
  }

  private grow(): void {
    const old = this.table;
    this.table = new Uint32Array(old.length * 2);
    this.mask = old.length - 1; // slots double: new slots = old.length
    for (let j = 0; j < old.length; j += 2) {
      if (old[j] === 0 && old[j + 1] === 0) continue;
      const i = this.slotOf(old[j], old[j + 1]);
      this.table[2 * i] = old[j];
      this.table[2 * i + 1] = old[j + 1];
    }
  }
}
