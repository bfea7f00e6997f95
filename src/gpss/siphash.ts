// SipHash-2-4 (Aumasson & Bernstein, 2012): a keyed 64-bit hash, used for the match-key
// fingerprints of a load job (key-index.ts). Why this one and not a faster unkeyed hash: the
// keys come from the data, and with a secret random key per job no input, crafted or not, makes
// two different keys collide more often than chance (n²/2^65 for n keys); unkeyed hashes such
// as MurmurHash3 have seed-independent collisions that a text key could carry on purpose.
//
// 64-bit arithmetic in two uint32 halves (hi, lo), no BigInt (per row on the write path). The
// input is a string whose char codes are bytes (0–255), as collapse.ts's keys are.

// State v0..v3 as uint32 halves: v_k's high half at V[2k], its low half at V[2k + 1]. Module
// scratch, one hash at a time (pure code, no re-entrancy). Uint32Array stores wrap mod 2^32.
const V = new Uint32Array(8);

/** v_a += v_b (mod 2^64). */
function add(a: number, b: number): void {
  const lo = (V[2 * a + 1] + V[2 * b + 1]) >>> 0;
  V[2 * a] = V[2 * a] + V[2 * b] + (lo < V[2 * a + 1] ? 1 : 0);
  V[2 * a + 1] = lo;
}

/** v_a = rotl(v_a, n) for 0 < n ≤ 32. */
function rotl(a: number, n: number): void {
  const h = V[2 * a];
  const l = V[2 * a + 1];
  if (n === 32) {
    V[2 * a] = l;
    V[2 * a + 1] = h;
    return;
  }
  V[2 * a] = (h << n) | (l >>> (32 - n));
  V[2 * a + 1] = (l << n) | (h >>> (32 - n));
}

/** v_a ^= v_b. */
function xor(a: number, b: number): void {
  V[2 * a] ^= V[2 * b];
  V[2 * a + 1] ^= V[2 * b + 1];
}

function sipRound(): void {
  add(0, 1); rotl(1, 13); xor(1, 0); rotl(0, 32);
  add(2, 3); rotl(3, 16); xor(3, 2);
  add(0, 3); rotl(3, 21); xor(3, 0);
  add(2, 1); rotl(1, 17); xor(1, 2); rotl(2, 32);
}

/** Mixes one 64-bit message word (hi, lo) with the c = 2 compression rounds. */
function absorb(mh: number, ml: number): void {
  V[6] ^= mh;
  V[7] ^= ml;
  sipRound();
  sipRound();
  V[0] ^= mh;
  V[1] ^= ml;
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
  // "somepseudorandomlygeneratedbytes"
  V[0] = key.k0h ^ 0x736f6d65;
  V[1] = key.k0l ^ 0x70736575;
  V[2] = key.k1h ^ 0x646f7261;
  V[3] = key.k1l ^ 0x6e646f6d;
  V[4] = key.k0h ^ 0x6c796765;
  V[5] = key.k0l ^ 0x6e657261;
  V[6] = key.k1h ^ 0x74656462;
  V[7] = key.k1l ^ 0x79746573;
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
  V[5] ^= 0xff;
  for (let r = 0; r < 4; r++) sipRound(); // d = 4 finalization rounds
  sipOut.hi = (V[0] ^ V[2] ^ V[4] ^ V[6]) >>> 0;
  sipOut.lo = (V[1] ^ V[3] ^ V[5] ^ V[7]) >>> 0;
}
