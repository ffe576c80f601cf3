import { describe, expect, it } from "vitest";
import { renderSvg } from "../../stages/4-evaluate/plots.ts";
import { formatValue, pickVersions, reportSpec } from "./report.ts";

describe("reportSpec", () => {
  it("draws a bar per measured side, ours first, with the machine and versions in the title", async () => {
    const spec = reportSpec(
      {
        bench: "train",
        setup: "100 trees",
        panels: [
          {
            title: "fit, s (lower is better)",
            bars: [
              { side: "ours (2 workers)", value: 1.78 },
              { side: "scikit-learn (n_jobs=-1)", value: 7.08 },
              { side: "LightGBM RF", value: null },
            ],
          },
        ],
        result: {},
        versions: {},
      },
      {
        machine: { cpu: "AMD EPYC 7B13", cores: 2, memory_gb: 24, load_at_start: 0.4 },
        date: "2026-11-30",
        versions: { node: "24.21.0", "scikit-learn": "1.9.1" },
      },
    );
    const svg = await renderSvg(spec);
    expect(svg).toContain("npm run bench -- train: 100 trees");
    expect(svg).toContain("2026-11-30 · AMD EPYC 7B13, 2 cores, 24 GB · load average 0.4 at start");
    expect(svg).toContain("node 24.21.0, scikit-learn 1.9.1");
    expect(svg).toContain("ours (2 workers)");
    expect(svg).toContain("scikit-learn (n_jobs=-1)");
    expect(svg).toContain(">7.08<");
    // An unmeasured side gets no bar and no label.
    expect(svg).not.toContain("LightGBM RF");
    // Ours in colour, the peers in grey.
    expect(svg).toContain('fill="#d9480f"');
    expect(svg).toContain('fill="#868e96"');
  });
});

describe("formatValue and pickVersions", () => {
  it("keeps about three significant digits", () => {
    expect([formatValue(1.784), formatValue(30.84), formatValue(7080.4)]).toEqual([
      "1.78",
      "30.8",
      "7,080",
    ]);
  });

  it("keeps the versions a bench uses, in its order, leaving out what is not installed", () => {
    const installed = { pandas: "3.1.1", polars: "2.1.0", duckdb: "2.0.1" };
    expect(pickVersions(installed, ["duckdb", "polars", "pyspark"])).toEqual({
      duckdb: "2.0.1",
      polars: "2.1.0",
    });
    expect(pickVersions(undefined, ["polars"])).toEqual({});
  });
});
