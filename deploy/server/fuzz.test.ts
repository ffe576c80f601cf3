import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seededRandom } from "../../bench/data/upsample.ts";
import { makeTestBundle, sampleRecord } from "../../test/support/bundle.ts";
import { tempDir } from "../../test/support/housing.ts";
import type { RunningServer } from "./server.ts";
import { startTestServer } from "./test-helpers.ts";

let running: RunningServer;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const temp = await tempDir("fuzz-");
  cleanup = temp.cleanup;
  await makeTestBundle(join(temp.dir, "current"), { version: "v1.0.0" });
  running = await startTestServer({ modelDir: join(temp.dir, "current") });
});

afterAll(async () => {
  await running?.close();
  await cleanup?.();
});

const KEYS = [
  "longitude",
  "median_income",
  "ocean_proximity",
  "total_bedrooms",
  "__proto__",
  "constructor",
  "prototype",
  "x",
];

function randomValue(next: () => number, depth: number): unknown {
  const pick = Math.floor(next() * 14);
  switch (pick) {
    case 0:
      return 1e308 * (next() < 0.5 ? 1 : -1);
    case 1:
      return -Math.floor(next() * 1e6);
    case 2:
      return next() * 1e4;
    case 3:
      return ["NaN", "Infinity", "-Infinity", "", "INLAND", "1e999", "\u0000"][
        Math.floor(next() * 7)
      ];
    case 4:
      return "y".repeat(Math.floor(next() * 5000));
    case 5:
      return next() < 0.5;
    case 6:
      return null;
    case 7:
      return 0;
    case 8:
      return Number.MIN_VALUE;
    case 9:
      return depth > 4
        ? []
        : Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1));
    default: {
      if (depth > 4) return {};
      const entries = Array.from({ length: Math.floor(next() * 5) }, () => [
        KEYS[Math.floor(next() * KEYS.length)],
        randomValue(next, depth + 1),
      ]);
      return Object.fromEntries(entries);
    }
  }
}

/** A record with 1-3 fields replaced by random values (or random keys added). */
function mutatedRecord(next: () => number, i: number): string {
  const record: Record<string, unknown> = { ...sampleRecord(i) };
  const changes = 1 + Math.floor(next() * 3);
  for (let c = 0; c < changes; c++)
    record[KEYS[Math.floor(next() * KEYS.length)]] = randomValue(next, 1);
  return JSON.stringify(record);
}

function fixedBodies(): { body: string | Buffer; type?: string }[] {
  const valid = JSON.stringify(sampleRecord(1));
  return [
    { body: "" },
    { body: "", type: "text/plain" },
    { body: "{" },
    { body: "nul" },
    { body: "NaN" },
    { body: "1e999" },
    { body: '"just a string"' },
    { body: "42" },
    { body: "null" },
    { body: "[]" },
    { body: "[[[[]]]]" },
    { body: "{}" },
    { body: '{"a":NaN}' },
    { body: `${"[".repeat(100_000)}${"]".repeat(100_000)}` },
    { body: `${"[".repeat(200_000)}` },
    { body: `{"median_income":${'{"a":'.repeat(20_000)}1${"}".repeat(20_000)}}` },
    {
      body: `{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},${valid.slice(1)}`,
    },
    { body: `[{"__proto__":{"polluted":true}},${valid}]` },
    {
      body: JSON.stringify({
        dataframe_split: { columns: ["__proto__", "constructor"], data: [[{ polluted: true }, 1]] },
      }),
    },
    { body: Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0xc3, 0x28]) },
    { body: `\ufeff${valid}` },
    { body: valid, type: "application/json; charset=utf-16" },
    { body: valid, type: "application/x-www-form-urlencoded" },
    { body: valid, type: "multipart/form-data; boundary=x" },
    { body: JSON.stringify(Array.from({ length: 1001 }, (_, i) => sampleRecord(i))) },
    { body: JSON.stringify(Array.from({ length: 1000 }, () => ({ longitude: "x" }))) },
    { body: JSON.stringify({ ...sampleRecord(1), longitude: 1e308 * 10 }) },
  ];
}

/** Sends one request with node:http (a fixed Content-Length), resolving with the status or the socket error. */
function send(
  path: string,
  body: string | Buffer,
  type = "application/json",
): Promise<{ status: number; text: string } | { error: string }> {
  const url = new URL(path, running.url);
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: "POST",
        headers: { "content-type": type, "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", (error) => resolve({ error: error.message }));
      },
    );
    // The server may answer 413 and close before a huge body is fully sent: that is an answer too.
    req.on("error", (error) => resolve({ error: error.message }));
    req.end(body);
  });
}

describe("fuzzed request bodies", () => {
  it("never answer 5xx, never crash the server, and keep memory bounded", async () => {
    const next = seededRandom(20_240_601);
    for (let i = 0; i < 30; i++) await send("/predict", JSON.stringify(sampleRecord(i)));
    const rssBefore = process.memoryUsage().rss;

    const cases: { path: string; body: string | Buffer; type?: string }[] = [];
    for (const fixed of fixedBodies()) {
      cases.push({ path: "/predict", ...fixed }, { path: "/invocations", ...fixed });
    }
    for (let i = 0; i < 300; i++) {
      const path = i % 3 === 0 ? "/invocations" : "/predict";
      const body = i % 4 === 0 ? JSON.stringify(randomValue(next, 0)) : mutatedRecord(next, i);
      cases.push({
        path,
        body: path === "/invocations" && i % 2 === 0 ? `{"instances":[${body}]}` : body,
      });
    }
    const huge = `{"padding":"${"z".repeat(10 * 1024 * 1024)}"}`;
    for (let i = 0; i < 5; i++)
      cases.push({ path: i % 2 ? "/invocations" : "/predict", body: huge });

    const statuses = new Map<number, number>();
    for (const { path, body, type } of cases) {
      const answer = await send(path, body, type);
      if ("error" in answer) {
        // Only the oversized bodies may be cut off by the server's early 413.
        expect(Buffer.byteLength(body), answer.error).toBeGreaterThan(1024 * 1024);
        continue;
      }
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      expect(answer.status, `${path} ${String(body).slice(0, 200)}`).toBeLessThan(500);
      const parsed = JSON.parse(answer.text) as { error?: string };
      if (answer.status >= 400) {
        expect(typeof parsed.error).toBe("string");
        expect(answer.text).not.toMatch(/\n\s+at /);
      }
    }

    // Nothing reached Object.prototype, and the server still answers normally.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const health = await fetch(`${running.url}/health`);
    expect(health.status).toBe(200);
    const ok = await send("/predict", JSON.stringify(sampleRecord(5)));
    expect("status" in ok && ok.status).toBe(200);
    for (const status of [200, 400, 413, 415, 422])
      expect(statuses.has(status), `status ${status} seen`).toBe(true);

    const grownMb = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
    expect(grownMb).toBeLessThan(300);
  });
});
