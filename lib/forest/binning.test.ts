import { describe, expect, it } from "vitest";
import { binFeature, separatingFloat32, sortFloat64 } from "./binning.ts";

/** binFeature on one column: the feature's edges, and each value's bin by its index. */
function binColumn(values: Float64Array, maxBins: number) {
  const bins = new Uint16Array(values.length);
  const edges = binFeature(values, values.length, 1, 0, maxBins, bins);
  return { edges, bins };
}

describe("separatingFloat32", () => {
  it("returns a float32 between two values, or null when float32 cannot tell them apart", () => {
    const pairs: [number, number][] = [
      [0.1, 0.2],
      [-3.3, -3.2999999],
      [1, 1 + 2 ** -20],
      [123456.789, 123456.79],
      [-1e-40, 1e-40],
    ];
    for (const [a, b] of pairs) {
      const t = separatingFloat32(a, b);
      expect(t).not.toBeNull();
      expect(Math.fround(t as number)).toBe(t);
      expect(a <= (t as number) && (t as number) < b).toBe(true);
    }
    expect(separatingFloat32(1 + 2 ** -40, 1 + 2 ** -39)).toBeNull();
  });
});

describe("binFeature", () => {
  it("gives each distinct value its own bin when there are few", () => {
    const values = Float64Array.from([3, 1, 2, 2, 3, 1, 5]);
    const { edges, bins } = binColumn(values, 255);
    const binOf = (v: number) => bins[values.indexOf(v)];
    expect(edges.length).toBe(3);
    expect([1, 2, 3, 5].map(binOf)).toEqual([0, 1, 2, 3]);
  });

  it("cuts many values into at most maxBins quantile bins of similar size", () => {
    let state = 5;
    const values = Float64Array.from({ length: 10_000 }, () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return (state / 4294967296) ** 3 * 1e6;
    });
    const { edges, bins } = binColumn(values, 64);
    expect(edges.length).toBeLessThanOrEqual(63);
    const counts = new Array(edges.length + 1).fill(0);
    for (const bin of bins) counts[bin]++;
    expect(Math.max(...counts)).toBeLessThan(2 * (values.length / 64));
  });

  it("routes every value like a float32 threshold comparison does", () => {
    let state = 9;
    const values = Float64Array.from({ length: 5000 }, () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return (state / 4294967296 - 0.5) * 1e-3 + 40.123456789;
    });
    const { edges, bins } = binColumn(values, 255);
    for (const [i, v] of values.entries()) {
      const bin = bins[i];
      // Left of a split at edge e iff bin <= e iff v <= the float32 threshold edges[e].
      for (const e of [bin - 1, bin]) {
        if (e < 0 || e >= edges.length) continue;
        expect(bin <= e).toBe(v <= edges[e]);
      }
    }
  });

  it("keeps one bin for a constant feature", () => {
    expect(binColumn(Float64Array.from([7, 7, 7]), 255).edges.length).toBe(0);
  });
});

describe("sortFloat64", () => {
  it("orders values exactly as Float64Array.prototype.sort does, rows along", () => {
    let state = 5;
    const random = () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 4294967296;
    };
    const special = [3, -0, 0, -1e-300, 1e-300, -5, 5, Infinity, -Infinity, 0, -0, 2 ** -1074];
    const cases = [
      Float64Array.from(special),
      // Magnitudes from 1e-20 to 1e20, both signs, and many repeats.
      Float64Array.from(
        { length: 5000 },
        () => (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20),
      ),
      Float64Array.from({ length: 3000 }, () => Math.floor(random() * 7) - 3),
      Float64Array.from({ length: 1 }, () => -2.5),
      new Float64Array(0),
    ];
    for (const values of cases) {
      const sorted = Float64Array.from(values);
      const rows = Int32Array.from(values, (_, i) => i);
      const n = values.length;
      sortFloat64(sorted, rows, new Float64Array(n), new Int32Array(n));
      const expected = Float64Array.from(values).sort();
      // Each row moved with its value.
      expect(Float64Array.from(rows, (row) => values[row])).toEqual(sorted);
      expect(Array.from(sorted, (v) => Object.is(v, -0))).toEqual(
        Array.from(expected, (v) => Object.is(v, -0)),
      );
      expect(sorted).toEqual(expected);
    }
  });
});
