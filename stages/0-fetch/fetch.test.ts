import { readFileSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { UsageError } from "../../lib/cli/program.ts";
import { sha256 } from "../../lib/io/files.ts";
import { REAL_HOUSING_CSV } from "../../test/support/housing.ts";
import { fetchCommand } from "./command.ts";
import { ensureDataset, fetchDataset, HOUSING_SHA256 } from "./fetch.ts";

const REAL_CSV = REAL_HOUSING_CSV ?? "";
const hasRealCsv = REAL_HOUSING_CSV !== null;
if (!hasRealCsv)
  console.warn("SKIPPING real-dataset fetch tests: ../shared/data/housing.csv is absent");

// Synthetic bytes for the failure cases that don't need the real dataset.
const SYNTHETIC = Buffer.from(
  "longitude,latitude\n".concat("-122.23,37.88\n".repeat(20_000)),
  "utf8",
);
const SYNTHETIC_SHA256 = sha256(SYNTHETIC);
const HALF = Math.floor(SYNTHETIC.length / 2);
const real = hasRealCsv ? readFileSync(REAL_CSV) : Buffer.alloc(0);
const corrupt = Buffer.from(real);
if (corrupt.length > 1000) corrupt[1000] ^= 0x01;

let server: Server;
let base: string;
let dir: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    const send = (body: Buffer) => {
      response.writeHead(200, { "content-type": "text/csv", "content-length": body.length });
      response.end(body);
    };
    if (request.url === "/housing.csv") send(real);
    else if (request.url === "/corrupt.csv") send(corrupt);
    else if (request.url === "/synthetic.csv") send(SYNTHETIC);
    else if (request.url === "/cut.csv") {
      // Promise the full length, send half, then drop the connection.
      response.writeHead(200, { "content-type": "text/csv", "content-length": SYNTHETIC.length });
      response.write(SYNTHETIC.subarray(0, HALF), () =>
        setTimeout(() => request.socket.destroy(), 20),
      );
    } else {
      response.writeHead(404, { "content-type": "text/plain" });
      response.end("not found");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "fetch-test-"));
});

afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

/** Runs a fetch that must fail, first with no dest, then over an existing dest; checks leftovers. */
async function expectFailure(
  fetchTo: (dest: string) => Promise<unknown>,
  message: RegExp | string,
) {
  const dest = join(dir, "housing.csv");
  await expect(fetchTo(dest)).rejects.toThrow(message);
  expect(await readdir(dir)).toEqual([]);

  await writeFile(dest, "previous good file\n");
  await expect(fetchTo(dest)).rejects.toThrow(message);
  expect(await readdir(dir)).toEqual(["housing.csv"]);
  expect(await readFile(dest, "utf8")).toBe("previous good file\n");
}

describe.skipIf(!hasRealCsv)("fetchDataset with the real dataset", () => {
  it("downloads, verifies and reports progress", async () => {
    const dest = join(dir, "sub", "housing.csv");
    const progress: [number, number | null][] = [];
    const result = await fetchDataset({
      dest,
      url: `${base}/housing.csv`,
      onProgress: (bytes, total) => progress.push([bytes, total]),
    });
    expect(result).toEqual({
      path: dest,
      sha256: HOUSING_SHA256,
      bytes: real.length,
      source: `${base}/housing.csv`,
    });
    expect((await readFile(dest)).equals(real)).toBe(true);
    expect(progress.at(-1)).toEqual([real.length, real.length]);
    expect(await readdir(join(dir, "sub"))).toEqual(["housing.csv"]);
  });

  it("rejects a download with one byte changed", async () => {
    const url = `${base}/corrupt.csv`;
    await expectFailure(
      (dest) => fetchDataset({ dest, url }),
      new RegExp(
        `${url}: sha256 is ${sha256(corrupt)} \\(${corrupt.length} bytes\\), expected ${HOUSING_SHA256}`,
      ),
    );
  });

  it("copies a good local file with from", async () => {
    const dest = join(dir, "housing.csv");
    const result = await fetchDataset({ dest, from: REAL_CSV });
    expect(result).toEqual({
      path: dest,
      sha256: HOUSING_SHA256,
      bytes: real.length,
      source: REAL_CSV,
    });
    expect((await readFile(dest)).equals(real)).toBe(true);
  });

  it("rejects a corrupt local file with from, naming it", async () => {
    const bad = join(tmpdir(), `fetch-test-corrupt-${process.pid}.csv`);
    await writeFile(bad, corrupt);
    try {
      await expectFailure(
        (dest) => fetchDataset({ dest, from: bad }),
        new RegExp(`${bad}: sha256 is ${sha256(corrupt)} .*expected ${HOUSING_SHA256}`),
      );
    } finally {
      await rm(bad, { force: true });
    }
  });
});

describe("fetchDataset failures", () => {
  it("names the URL and status on a 404", async () => {
    const url = `${base}/missing.csv`;
    await expectFailure(
      (dest) => fetchDataset({ dest, url }),
      new RegExp(`${url}: HTTP 404 Not Found, expected 200 OK`),
    );
  });

  it("says how far a download cut mid-body got", async () => {
    const url = `${base}/cut.csv`;
    await expectFailure(
      (dest) => fetchDataset({ dest, url, sha256: SYNTHETIC_SHA256 }),
      `${url}: transfer broke off after ${HALF} bytes of ${SYNTHETIC.length} expected: terminated`,
    );
  });

  it("names the URL when nothing listens there", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/housing.csv`;
    await new Promise((resolve) => closed.close(resolve));
    await expectFailure(
      (dest) => fetchDataset({ dest, url }),
      new RegExp(`${url}: download failed: .*ECONNREFUSED`),
    );
  });

  it("names a missing from file", async () => {
    const missing = join(tmpdir(), `fetch-test-missing-${process.pid}.csv`);
    await expectFailure(
      (dest) => fetchDataset({ dest, from: missing }),
      new RegExp(`${missing}: no such file \\(expected the housing CSV to copy\\)`),
    );
  });

  it("rejects a malformed expected sha256", async () => {
    await expectFailure(
      (dest) => fetchDataset({ dest, url: `${base}/synthetic.csv`, sha256: "abc" }),
      /sha256 "abc" is not 64 hex digits/,
    );
  });

  it("accepts other bytes when given their sha256", async () => {
    const dest = join(dir, "other.csv");
    const result = await fetchDataset({
      dest,
      url: `${base}/synthetic.csv`,
      sha256: SYNTHETIC_SHA256,
    });
    expect(result.sha256).toBe(SYNTHETIC_SHA256);
    expect((await readFile(dest)).equals(SYNTHETIC)).toBe(true);
  });
});

describe("ensureDataset", () => {
  it("fetches only when the file is missing", async () => {
    const dest = join(dir, "housing.csv");
    const url = `${base}/synthetic.csv`;
    const first = await ensureDataset(dest, { url, sha256: SYNTHETIC_SHA256 });
    expect(first).toMatchObject({ path: dest, fetched: true, sha256: SYNTHETIC_SHA256 });

    // A URL that would fail proves the second call does not download.
    const second = await ensureDataset(dest, { url: `${base}/missing.csv` });
    expect(second).toEqual({ path: dest, fetched: false });
    expect((await readFile(dest)).equals(SYNTHETIC)).toBe(true);
  });

  it("fails with the fetch error when missing and the download fails", async () => {
    const url = `${base}/missing.csv`;
    await expect(ensureDataset(join(dir, "housing.csv"), { url })).rejects.toThrow(
      `${url}: HTTP 404`,
    );
    expect(await readdir(dir)).toEqual([]);
  });
});

describe("fetch command", () => {
  /** Runs `fetch` as the CLI does, with these options. */
  const run = (options: Record<string, string>) =>
    fetchCommand()
      .exitOverride()
      .parseAsync(
        Object.entries(options).flatMap(([name, value]) => [`--${name}`, value]),
        { from: "user" },
      );
  function capture() {
    const stdout: string[] = [];
    const stderr: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: string) => void stdout.push(line));
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return true;
    });
    return { stdout, stderr };
  }

  it("prints progress to stderr and the path and sha256 last", async () => {
    const out = join(dir, "data", "housing.csv");
    const output = capture();
    await run({ out, url: `${base}/synthetic.csv`, sha256: SYNTHETIC_SHA256 });
    expect(output.stderr.join("")).toContain(
      `fetch: ${SYNTHETIC.length} / ${SYNTHETIC.length} bytes`,
    );
    expect(output.stdout.at(-1)).toBe(
      `${out} sha256 ${SYNTHETIC_SHA256} (${SYNTHETIC.length} bytes from ${base}/synthetic.csv)`,
    );
  });

  it("turns a failure into a usage error that names the source", async () => {
    const out = join(dir, "housing.csv");
    const from = join(dir, "nope.csv");
    capture();
    const error = await run({ out, from }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(
      `fetch: ${from}: no such file (expected the housing CSV to copy)`,
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it("refuses --from together with --url", async () => {
    await expect(
      run({ out: join(dir, "x.csv"), from: "a.csv", url: `${base}/housing.csv` }),
    ).rejects.toThrow("give either --from or --url, not both");
  });
});
