import { existsSync } from "node:fs";
import { readdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "./housing.ts";
import { ensureTestVenv, findPython } from "./python-venv.ts";

const found = findPython();
const missing = "missing" in found ? found.missing : null;
const skip = missing !== null && process.env.CI !== "true";
if (skip) console.warn(`test venv helper: skipped, ${missing}`);

describe.skipIf(skip)("ensureTestVenv", () => {
  it("creates the environment once, reuses it while the requirements are unchanged, rebuilds after", async () => {
    if (missing) throw new Error(missing);
    const temp = await tempDir("venv-");
    try {
      const dir = join(temp.dir, "venv");
      const requirements = join(temp.dir, "requirements.txt");
      // No packages: nothing to download, but pip runs as it does for the real list.
      await writeFile(requirements, "# nothing\n");
      const lines: string[] = [];
      const log = (line: string) => lines.push(line);
      const first = await ensureTestVenv({ dir, requirements, log });
      expect(first).toEqual({ python: join(dir, "bin", "python"), reused: false });
      expect(lines[0]).toMatch(/^creating .*venv from .*requirements\.txt/);
      expect(lines.at(-1)).toBe(`ready: ${dir}`);
      expect((await ensureTestVenv({ dir, requirements, log })).reused).toBe(true);

      await writeFile(requirements, "# nothing, changed\n");
      expect((await ensureTestVenv({ dir, requirements, log })).reused).toBe(false);
      // Built beside its place and renamed: no temp folder is left.
      expect(await readdir(dirname(dir))).toEqual(["requirements.txt", "venv"].sort());
      expect(existsSync(join(dir, "requirements.sha256"))).toBe(true);

      await writeFile(requirements, "this is not a requirement ===\n");
      await expect(ensureTestVenv({ dir, requirements, log })).rejects.toThrow(
        /pip .* install [\s\S]*Invalid requirement/,
      );
      expect(await readdir(dirname(dir))).toEqual(["requirements.txt", "venv"].sort());
    } finally {
      await temp.cleanup();
    }
  }, 120_000);
});
