import { type ChildProcess, spawn } from "node:child_process";
import { request } from "node:http";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { makeTestBundle, sampleRecord } from "../../test/support/bundle.ts";
import { tempDir } from "../../test/support/housing.ts";
import { parseEnv } from "./config.ts";

const INDEX = fileURLToPath(new URL("./index.ts", import.meta.url));
const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function startIndex(env: Record<string, string>): {
  child: ChildProcess;
  lines: AsyncIterator<string>;
  exit: Promise<number | null>;
  stderr: () => string;
} {
  const child = spawn(process.execPath, [INDEX], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return { child, lines, exit, stderr: () => stderr };
}

/** Reads JSON log lines until one has msg `message`. */
async function logLine(
  lines: AsyncIterator<string>,
  message: string,
): Promise<Record<string, unknown>> {
  for (;;) {
    const { value, done } = await lines.next();
    if (done) throw new Error(`the server exited before logging "${message}"`);
    const entry = JSON.parse(value) as Record<string, unknown>;
    if (entry.msg === message) return entry;
  }
}

describe("environment", () => {
  it("applies the defaults", () => {
    expect(parseEnv({})).toEqual({
      port: 8080,
      host: "127.0.0.1",
      modelDir: "deploy/models/current",
      adminToken: undefined,
      maxBatch: 1000,
      bodyLimit: "1mb",
      modelPollMs: 2000,
      shutdownTimeoutMs: 10_000,
      source: { kind: "dir" },
    });
  });

  it("registry mode: needs one registry, and a token (from a file) for GitHub; never echoes it", async () => {
    expect(() => parseEnv({ MODEL_SOURCE: "registry" })).toThrow(
      /set REGISTRY_REPOSITORY \(owner\/repo on GitHub\) or REGISTRY_GIT_DIR/,
    );
    expect(() =>
      parseEnv({ MODEL_SOURCE: "registry", REGISTRY_REPOSITORY: "octo-org/house-price" }),
    ).toThrow(/set REGISTRY_TOKEN_FILE/);
    expect(() =>
      parseEnv({
        MODEL_SOURCE: "registry",
        REGISTRY_REPOSITORY: "octo-org/house-price",
        REGISTRY_TOKEN_FILE: "/nonexistent/token",
      }),
    ).toThrow(/REGISTRY_TOKEN_FILE: cannot read \/nonexistent\/token \(ENOENT\)/);
    const secret = "ghs_registry_read_only_token_1234";
    expect(() =>
      parseEnv({
        MODEL_SOURCE: "registry",
        REGISTRY_REPOSITORY: "octo-org/house-price",
        REGISTRY_TOKEN: secret,
        REGISTRY_POLL_MS: "5",
      }),
    ).toThrow(/REGISTRY_POLL_MS: expected an integer >= 1000/);
    try {
      parseEnv({ MODEL_SOURCE: "registry", REGISTRY_TOKEN: secret, REGISTRY_POLL_MS: "x" });
    } catch (error) {
      expect((error as Error).message).not.toContain(secret);
    }
    const config = parseEnv({
      MODEL_SOURCE: "registry",
      REGISTRY_REPOSITORY: "octo-org/house-price",
      REGISTRY_TOKEN: secret,
      MODEL_CACHE_DIR: "/var/cache/models",
    });
    expect(config.modelDir).toBe("/var/cache/models/current");
    expect(config.source).toMatchObject({ kind: "registry", stage: "production", pollMs: 30_000 });
  });

  it("names every bad variable and never echoes the admin token", () => {
    expect(() =>
      parseEnv({ PORT: "http", MAX_BATCH: "0", BODY_LIMIT: "lots", ADMIN_TOKEN: "short" }),
    ).toThrow(
      /PORT: .*"http"[\s\S]*ADMIN_TOKEN: .*value hidden[\s\S]*MAX_BATCH: .*>= 1[\s\S]*BODY_LIMIT: /,
    );
    expect(() => parseEnv({ ADMIN_TOKEN: "short" })).not.toThrow(/short/);
  });

  it("fails before listening with a message naming the variable", async () => {
    const { exit, stderr } = startIndex({ PORT: "99999" });
    expect(await exit).toBe(2);
    expect(stderr()).toMatch(/PORT: expected an integer <= 65535 \(found "99999"\)/);
  });
});

describe("graceful shutdown", () => {
  it("finishes an in-flight request on SIGTERM, refuses new connections, then exits 0", async () => {
    const temp = await tempDir("shutdown-");
    cleanups.push(temp.cleanup);
    const modelDir = join(temp.dir, "current");
    await makeTestBundle(modelDir, { version: "v1.0.0" });
    const server = startIndex({ PORT: "0", MODEL_DIR: modelDir });
    const { url } = (await logLine(server.lines, "listening")) as { url: string };

    // Send the headers and half the body: the server has the request (it answered 100-continue)
    // but cannot answer before the rest arrives.
    const body = JSON.stringify(sampleRecord(4));
    let newConnection = "";
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(`${url}/predict`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          expect: "100-continue",
        },
      });
      req.on("response", (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on("error", reject);
      req.on("continue", async () => {
        req.write(body.slice(0, 20));
        server.child.kill("SIGTERM");
        await logLine(server.lines, "shutting down");
        newConnection = await fetch(`${url}/health`).then(
          () => "answered",
          () => "refused",
        );
        req.end(body.slice(20));
      });
    });
    const { status, text } = await answer;
    expect(newConnection).toBe("refused");
    expect(status).toBe(200);
    expect(JSON.parse(text)).toMatchObject({ model_version: "v1.0.0" });
    expect(await server.exit).toBe(0);
  });
});
