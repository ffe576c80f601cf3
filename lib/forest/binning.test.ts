import { describe, expect, it } from "vitest";
import { binFeature } from "./binning.ts";

/** binFeature on one column: the feature's edges, and each value's bin by its index. */
function binColumn(values: Float64Array, maxBins: number) {
  const bins = new Uint16Array(values.length);
  const edges = binFeature(values, values.length, 1, 0, maxBins, bins);
  return { edges, bins };
}

describe("binFeature", () => {
  it("separates two values with a float32 edge near their midpoint, or keeps one bin when float32 cannot tell them apart", () => {
    const pairs: [number, number][] = [
      [0.1, 0.2],
      [-3.3, -3.2999999],
      [1, 1 + 2 ** -20],
      [123456.789, 123456.79],
      [-1e-40, 1e-40],
    ];
    for (const [a, b] of pairs) {
      const { edges, bins } = binColumn(Float64Array.of(b, a), 255);
      expect(edges.length).toBe(1);
      const [t] = edges;
      expect(a <= t && t < b).toBe(true);
      expect(Array.from(bins)).toEqual([1, 0]);
    }
    const { edges, bins } = binColumn(Float64Array.of(1 + 2 ** -39, 1 + 2 ** -40), 255);
    expect(edges.length).toBe(0);
    expect(Array.from(bins)).toEqual([0, 0]);
  });

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

describe("binFeature's order", () => {
  it("bins values in the order Float64Array.prototype.sort gives them, -0 with 0, whatever their signs and magnitudes", () => {
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
    ];
    for (const values of cases) {
      const { edges, bins } = binColumn(values, 65_536);
      const order = Array.from(values, (_, i) => i).sort((i, j) => values[i] - values[j]);
      for (let k = 1; k < order.length; k++) {
        const [before, after] = [order[k - 1], order[k]];
        // Bins only go up with the value, and equal values (-0 and 0 too) share one.
        expect(bins[after]).toBeGreaterThanOrEqual(bins[before]);
        if (values[after] === values[before]) expect(bins[after]).toBe(bins[before]);
        // A new bin starts exactly where a float32 edge separates the two values.
        const edge = edges[bins[before]];
        expect(bins[after] > bins[before]).toBe(
          edge !== undefined && values[before] <= edge && edge < values[after],
        );
      }
    }
  });
});
