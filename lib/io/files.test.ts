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

  it("hashes a file of several pieces, the last one partial", async () => {
    // 9.5 MiB of random bytes: more than two 4 MiB reads into the same buffer.
    const bytes = randomBytes(9.5 * 1024 * 1024);
    const path = join(dir, "data.bin");
    await writeFile(path, bytes);
    const expected = createHash("sha256").update(bytes).digest("hex");
    expect(await sha256File(path)).toBe(expected);
  });

  it("hashes an empty file", async () => {
    const path = join(dir, "empty.bin");
    await writeFile(path, "");
    expect(await sha256File(path)).toBe(createHash("sha256").digest("hex"));
  });

  it("rejects, naming the file, when the file cannot be read", async () => {
    const path = join(dir, "missing.csv");
    await expect(sha256File(path)).rejects.toThrow(/ENOENT.*missing\.csv/);
    await expect(sha256FileOffThread(path, 0)).rejects.toThrow(/ENOENT.*missing\.csv/);
    // One the worker thread cannot read: its error comes back.
    await expect(sha256FileOffThread(dir, 0)).rejects.toThrow(/EISDIR/);
  });

  it("hashes on a thread of its own from a size on, and alike on this one below it", async () => {
    const bytes = randomBytes(9.5 * 1024 * 1024);
    const path = join(dir, "data.bin");
    await writeFile(path, bytes);
    const expected = createHash("sha256").update(bytes).digest("hex");
    expect(await sha256FileOffThread(path, 0)).toBe(expected);
    expect(await sha256FileOffThread(path, bytes.length + 1)).toBe(expected);
  });
});
