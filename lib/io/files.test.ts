import { createHash, randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../../test/support/housing.ts";
import { sha256File, sha256FileOffThread } from "./files.ts";

describe("file hashes", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it("hashes a file of several 1 MiB pieces on this thread and on a worker thread alike", async () => {
    // 3.5 MiB of random bytes: more than one read, the last one partial.
    const bytes = randomBytes(3.5 * 1024 * 1024);
    const path = join(dir, "data.bin");
    await writeFile(path, bytes);
    const expected = createHash("sha256").update(bytes).digest("hex");
    expect(await sha256File(path)).toBe(expected);
    expect(await sha256FileOffThread(path)).toBe(expected);
  });

  it("rejects, naming the file, when the file cannot be read", async () => {
    const path = join(dir, "missing.csv");
    await expect(sha256FileOffThread(path)).rejects.toThrow(/ENOENT.*missing\.csv/);
  });
});
