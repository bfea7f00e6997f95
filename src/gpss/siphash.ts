// SipHash-2-4 (Aumasson & Bernstein, 2012): a keyed 64-bit hash, used for the match-key
// fingerprints of a load job (key-index.ts). Why this one and not a faster unkeyed hash: the
// keys come from the data, and with a secret random key per job no input, crafted or not, makes
// two different keys collide more often than chance (n²/2^65 for n keys); unkeyed hashes such
// as MurmurHash3 have seed-independent collisions that a text key could carry on purpose.
//
// 64-bit arithmetic in two uint32 halves (hi, lo), no BigInt (per row on the write path). The
// input is a string whose char codes are bytes (0–255), as collapse.ts's keys are.

// State v0..v3 as hi/lo pairs; module scratch, one hash at a time (no re-entrancy: pure code).
let v0h = 0, v0l = 0, v1h = 0, v1l = 0, v2h = 0, v2l = 0, v3h = 0, v3l = 0;

function sipRound(): void {
  let lo: number;
  // v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
  lo = (v0l + v1l) >>> 0;
  v0h = (v0h + v1h + (lo < v0l ? 1 : 0)) >>> 0;
  v0l = lo;
  let h = ((v1h << 13) | (v1l >>> 19)) >>> 0;
  let l = ((v1l << 13) | (v1h >>> 19)) >>> 0;
  v1h = (h ^ v0h) >>> 0;
  v1l = (l ^ v0l) >>> 0;
  h = v0h;
  v0h = v0l;
  v0l = h;
  // v2 += v3; v3 = rotl(v3, 16); v3 ^= v2
  lo = (v2l + v3l) >>> 0;
  v2h = (v2h + v3h + (lo < v2l ? 1 : 0)) >>> 0;
  v2l = lo;
  h = ((v3h << 16) | (v3l >>> 16)) >>> 0;
  l = ((v3l << 16) | (v3h >>> 16)) >>> 0;
  v3h = (h ^ v2h) >>> 0;
  v3l = (l ^ v2l) >>> 0;
  // v0 += v3; v3 = rotl(v3, 21); v3 ^= v0
  lo = (v0l + v3l) >>> 0;
  v0h = (v0h + v3h + (lo < v0l ? 1 : 0)) >>> 0;
  v0l = lo;
  h = ((v3h << 21) | (v3l >>> 11)) >>> 0;
  l = ((v3l << 21) | (v3h >>> 11)) >>> 0;
  v3h = (h ^ v0h) >>> 0;
  v3l = (l ^ v0l) >>> 0;
  // v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
  lo = (v2l + v1l) >>> 0;
  v2h = (v2h + v1h + (lo < v2l ? 1 : 0)) >>> 0;
  v2l = lo;
  h = ((v1h << 17) | (v1l >>> 15)) >>> 0;
  l = ((v1l << 17) | (v1h >>> 15)) >>> 0;
  v1h = (h ^ v2h) >>> 0;
  v1l = (l ^ v2l) >>> 0;
  h = v2h;
  v2h = v2l;
  v2l = h;
}

/** Mixes one 64-bit message word (hi, lo) with the c = 2 compression rounds. */
function absorb(mh: number, ml: number): void {
  v3h = (v3h ^ mh) >>> 0;
  v3l = (v3l ^ ml) >>> 0;
  sipRound();
  sipRound();
  v0h = (v0h ^ mh) >>> 0;
  v0l = (v0l ^ ml) >>> 0;
}

const byteAt = (s: string, i: number): number => s.charCodeAt(i) & 0xff;

/** A SipHash-2-4 key: k0 and k1 as little-endian uint64 halves. */
export interface SipKey {
  k0h: number;
  k0l: number;
  k1h: number;
  k1l: number;
}

/** The key from 16 bytes (k0 = bytes 0–7, k1 = bytes 8–15, little-endian, as the reference). */
export function sipKey(bytes: Uint8Array): SipKey {
  if (bytes.length !== 16) throw new RangeError(`a SipHash key is 16 bytes, not ${bytes.length}`);
  const w = (i: number): number => (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24)) >>> 0;
  return { k0l: w(0), k0h: w(4), k1l: w(8), k1h: w(12) };
}

/** The last hash: its high and low 32 bits (read right after sipHash24). */
export const sipOut = { hi: 0, lo: 0 };

/**
 * SipHash-2-4 of the bytes `s.charCodeAt(i) & 0xff`. The result is left in `sipOut` (no
 * allocation per call).
 */
export function sipHash24(key: SipKey, s: string): void {
  v0h = (key.k0h ^ 0x736f6d65) >>> 0;
  v0l = (key.k0l ^ 0x70736575) >>> 0;
  v1h = (key.k1h ^ 0x646f7261) >>> 0;
  v1l = (key.k1l ^ 0x6e646f6d) >>> 0;
  v2h = (key.k0h ^ 0x6c796765) >>> 0;
  v2l = (key.k0l ^ 0x6e657261) >>> 0;
  v3h = (key.k1h ^ 0x74656462) >>> 0;
  v3l = (key.k1l ^ 0x79746573) >>> 0;
  const n = s.length;
  const whole = n - (n % 8);
  for (let i = 0; i < whole; i += 8) {
    const ml = (byteAt(s, i) | (byteAt(s, i + 1) << 8) | (byteAt(s, i + 2) << 16) | (byteAt(s, i + 3) << 24)) >>> 0;
    const mh = (byteAt(s, i + 4) | (byteAt(s, i + 5) << 8) | (byteAt(s, i + 6) << 16) | (byteAt(s, i + 7) << 24)) >>> 0;
    absorb(mh, ml);
  }
  // The last word: the remaining bytes, and the length (mod 256) in the top byte.
  let ml = 0;
  let mh = ((n & 0xff) << 24) >>> 0;
  for (let i = whole; i < n; i++) {
    const k = i - whole;
    if (k < 4) ml |= byteAt(s, i) << (8 * k);
    else mh |= byteAt(s, i) << (8 * (k - 4));
  }
  absorb(mh >>> 0, ml >>> 0);
  v2l = (v2l ^ 0xff) >>> 0;
  sipRound();
  sipRound();
  sipRound();
  sipRound();
  sipOut.hi = (v0h ^ v1h ^ v2h ^ v3h) >>> 0;
  sipOut.lo = (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
}
