// The serve bench's load counts every failed request: answers that are not 2xx and requests that
// get no answer. Real HTTP servers on loopback, loaded by autocannon for one second each.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { addFailures, failureMessage, load, summary } from "./serve.ts";

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** A server that handles each request with `handle`; returns its URL. */
async function serve(handle: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handle);
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("the serve bench's load", () => {
  it("counts answers that are not 2xx, and then gives no throughput ratio", async () => {
    let count = 0;
    const url = await serve((request, response) => {
      request.resume();
      response.statusCode = ++count % 2 === 0 ? 503 : 200;
      response.end("{}");
    });
    const run = await load(url, "{}", 2, 1);
    expect(run.non2xx).toBeGreaterThan(0);
    expect(run.requests).toBeGreaterThan(run.non2xx);
    const result = summary({
      oursLoad: run,
      anchorLoad: run,
      batchMs: 1,
      failures: { ours: addFailures(run), anchor: null },
    });
    expect(result.non_2xx).toBe(run.non2xx);
    expect(result.rps_ratio).toBeNull();
    expect(failureMessage({ ours: addFailures(run), anchor: null })).toBe(
      `FAILED: ${run.non2xx} answers were not 2xx and 0 requests got no answer (ours ${run.non2xx} + 0, anchor 0 + 0); the request rates do not count`,
    );
  });

  it("counts requests that get no answer as errors", async () => {
    const url = await serve((request) => request.socket.destroy());
    const run = await load(url, "{}", 2, 1);
    expect(run.errors).toBeGreaterThan(0);
    expect(run.non2xx).toBe(0);
    const clean = { non2xx: 0, errors: 0 };
    expect(failureMessage({ ours: clean, anchor: addFailures(run) })).toBe(
      `FAILED: 0 answers were not 2xx and ${run.errors} requests got no answer (ours 0 + 0, anchor 0 + ${run.errors}); the request rates do not count`,
    );
  });

  it("reports a clean run with zero failures and a ratio", async () => {
    const url = await serve((request, response) => {
      request.resume();
      response.end("{}");
    });
    const run = await load(url, "{}", 2, 1);
    expect(run).toMatchObject({ non2xx: 0, errors: 0 });
    const result = summary({
      oursLoad: run,
      anchorLoad: run,
      batchMs: 1,
      failures: { ours: addFailures(run), anchor: addFailures(run) },
    });
    expect(result).toMatchObject({ non_2xx: 0, errors: 0, rps_ratio: 1 });
    expect(failureMessage({ ours: addFailures(run), anchor: addFailures(run) })).toBeNull();
  });
});
