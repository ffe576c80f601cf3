// The formatter/linter (Biome) and the type checker run as part of the tests, so CI enforces them.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));

async function exitOf(command: string, args: string[]) {
  try {
    await run(command, args, { cwd: root, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, output: "" };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, output: `${failure.stdout}\n${failure.stderr}` };
  }
}

describe("code quality", () => {
  it("is formatted and lint-clean (biome check)", async () => {
    const result = await exitOf("node_modules/.bin/biome", ["check", "."]);
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  });

  it("type-checks (tsc --noEmit, strict)", async () => {
    const result = await exitOf("node_modules/.bin/tsc", ["--noEmit"]);
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  });
});
