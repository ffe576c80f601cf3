// Per-tree random streams. Tree t draws only from the stream of (seed, t), so a tree is the same
// whichever worker, shard or process grows it.

/** xoshiro128** over 32-bit state, seeded through splitmix32. */
export class TreeRng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, treeIndex: number) {
    let s = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(treeIndex + 1, 0x85ebca77)) >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    // Mix the seed once more so that nearby (seed, tree) pairs start far apart.
    s = next() ^ Math.imul(seed >>> 0, 0x27d4eb2f);
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** A uniform unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** The generator's state, for a grower that draws the rest of the stream (lib/forest/assembly/grow.ts). */
  state(): [number, number, number, number] {
    return [this.a, this.b, this.c, this.d];
  }

  /** A uniform integer in [0, n) for n <= 2^32. */
  below(n: number): number {
    return Math.floor((this.nextUint32() * n) / 4294967296);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * A bootstrap: how often each of nRows rows is drawn in nRows draws with replacement (the first
 * draws of a tree's stream), into `counts` when given (it is zeroed first).
 */
export function bootstrapCounts(
  rng: TreeRng,
  nRows: number,
  counts: Int32Array = new Int32Array(nRows),
): Int32Array {
  counts.fill(0, 0, nRows);
  for (let i = 0; i < nRows; i++) counts[rng.below(nRows)]++;
  return counts;
}
