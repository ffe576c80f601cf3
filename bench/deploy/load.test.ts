// The deploy bench's load against real HTTP servers on loopback: it sees when a new
// model_version starts answering, and counts every request that fails.
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { startVersionLoad } from "./load.ts";
import { startLoadProcess } from "./load-process.ts";
import { epochMs } from "./measure.ts";

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

async function serve(handle: RequestListener): Promise<string> {
  server = createServer(handle);
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("the deploy bench's load", () => {
  it("times the first answer of a new model_version and counts answers per version", async () => {
    let version = "v1.0.0";
    const url = await serve((request, response) => {
      request.resume();
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({ predicted_price: 1, model_version: version }));
    });
    const load = startVersionLoad({ url, body: "{}", connections: 2 });
    await load.waitForVersion("v1.0.0", 5_000);
    await sleep(200);
    const switchedAt = epochMs();
    version = "v1.1.0";
    const seenAt = await load.waitForVersion("v1.1.0", 5_000);
    const tally = await load.stop();
    expect(seenAt).toBeGreaterThan(switchedAt);
    expect(load.firstSeen.get("v1.1.0")).toBe(seenAt);
    expect(tally.failed).toBe(0);
    expect(tally.unreadable).toBe(0);
    expect(tally.byVersion["v1.0.0"]).toBeGreaterThan(0);
    expect(tally.byVersion["v1.1.0"]).toBeGreaterThan(0);
    expect(tally.sent).toBeGreaterThanOrEqual(tally.answers);
  });

  it("runs in a child process with the same answers and times on the same clock", async () => {
    let version = "v1.0.0";
    const url = await serve((request, response) => {
      request.resume();
      response.end(JSON.stringify({ model_version: version }));
    });
    const load = startLoadProcess({ url, body: '{"a": 1}', connections: 2 });
    await load.waitForVersion("v1.0.0", 10_000);
    const switchedAt = epochMs();
    version = "v1.1.0";
    const seenAt = await load.waitForVersion("v1.1.0", 10_000);
    const tally = await load.stop();
    expect(seenAt).toBeGreaterThan(switchedAt);
    expect(seenAt - switchedAt).toBeLessThan(5_000);
    expect(tally.failed).toBe(0);
    expect(Object.keys(tally.byVersion).sort()).toEqual(["v1.0.0", "v1.1.0"]);
  });

  it("keeps to a fixed overall rate when given one", async () => {
    const url = await serve((request, response) => {
      request.resume();
      response.end(JSON.stringify({ model_version: "v1.0.0" }));
    });
    const load = startVersionLoad({ url, body: "{}", connections: 2, rate: 20 });
    await sleep(1_000);
    const tally = await load.stop();
    // Unpaced, loopback answers thousands a second; at 20/s the run (with the second stop()
    // may take) stays far below that, however slow the machine.
    expect(tally.answers).toBeGreaterThan(0);
    expect(tally.answers).toBeLessThanOrEqual(60);
  });

  it("rejects a wait for a version that never answers", async () => {
    const url = await serve((request, response) => {
      request.resume();
      response.end(JSON.stringify({ model_version: "v1.0.0" }));
    });
    const load = startVersionLoad({ url, body: "{}", connections: 1 });
    await expect(load.waitForVersion("v9.0.0", 300)).rejects.toThrow(
      "no answer carried v9.0.0 within 0.3 s",
    );
    await load.stop();
  });

  it("counts answers that are not 2xx, dropped requests and 2xx answers without a version", async () => {
    let count = 0;
    const url = await serve((request, response) => {
      request.resume();
      count++;
      if (count % 5 === 0) request.socket.destroy();
      else if (count % 5 === 1) response.writeHead(503).end("{}");
      else if (count % 5 === 2) response.end("not json");
      else response.end(JSON.stringify({ model_version: "v1.0.0" }));
    });
    const load = startVersionLoad({ url, body: "{}", connections: 2 });
    await sleep(1_000);
    const tally = await load.stop();
    expect(tally.byVersion["v1.0.0"]).toBeGreaterThan(0);
    expect(tally.unreadable).toBeGreaterThan(0);
    // The 503s alone are a fifth of the answers; dropped requests come on top.
    expect(tally.failed).toBeGreaterThan(tally.answers / 5);
    expect(tally.non2xx).toBeGreaterThan(0);
    // A dropped connection is no autocannon error: it shows as a request sent and never answered.
    expect(tally.failed - tally.non2xx - tally.errors).toBeGreaterThan(0);
  });
});
