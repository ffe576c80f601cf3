import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO } from "../support/paths.ts";
import { anchorRequirements } from "./anchor-image.ts";

describe("anchorRequirements", () => {
  it("takes the anchor's pins from bench/requirements.txt, the ones that pickled its forest", () => {
    const requirements = readFileSync(join(REPO, "bench", "requirements.txt"), "utf8");
    const lines = anchorRequirements(requirements).trim().split("\n");
    expect(lines.map((line) => line.split("==")[0])).toEqual([
      "numpy",
      "scikit-learn",
      "fastapi",
      "uvicorn",
    ]);
    for (const line of lines) expect(requirements).toContain(line);
  });

  it("names a package that is not pinned", () => {
    expect(() => anchorRequirements("numpy==2.0.0\nfastapi>=0.1\n", ["numpy", "fastapi"])).toThrow(
      "bench/requirements.txt: fastapi is not pinned as name==version",
    );
  });
});
