import { readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BUNDLE_FILES } from "../../lib/bundle/bundle.ts";
import {
  makeTestBundle,
  sampleRecord,
  trainTestForest,
  writeTestBundle,
} from "../../test/support/bundle.ts";
import { tempDir } from "../../test/support/housing.ts";
import type { RunningServer } from "./server.ts";
import { postJson, servedVersion, startTestServer, waitFor } from "./test-helpers.ts";

const TOKEN = "reload-admin-token-0123456789";
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(): Promise<{ dir: string; current: string; running: RunningServer }> {
  const temp = await tempDir("reload-");
  cleanups.push(temp.cleanup);
  const current = join(temp.dir, "models", "current");
  await makeTestBundle(current, { version: "v1.0.0", seed: 1 });
  const running = await startTestServer({ modelDir: current, adminToken: TOKEN });
  cleanups.push(() => running.close());
  return { dir: temp.dir, current, running };
}

/** Points the `current` symlink at `target` atomically: a new link, renamed over the old one. */
async function pointAt(current: string, target: string): Promise<void> {
  const next = `${current}.next`;
  await rm(next, { force: true });
  await symlink(target, next);
  await rename(next, current);
}

describe("hot reload", () => {
  it("serves a replaced bundle without a restart", async () => {
    const { current, running } = await setup();
    expect((await postJson(`${running.url}/predict`, sampleRecord(1))).body.model_version).toBe(
      "v1.0.0",
    );
    await makeTestBundle(current, { version: "v1.1.0", seed: 2 });
    await waitFor(
      "v1.1.0 to be served",
      async () => (await servedVersion(running.url)) === "v1.1.0",
    );
    const answer = await postJson(`${running.url}/predict`, sampleRecord(1));
    expect(answer.body.model_version).toBe("v1.1.0");
    const metrics = await (await fetch(`${running.url}/metrics`)).text();
    expect(metrics).toMatch(/model_info\{name="house-price",version="v1.1.0"/);
    expect(metrics).not.toMatch(/version="v1.0.0"/);
  });

  it("rejects a corrupt bundle, keeps serving the old model and reports the failure", async () => {
    const { dir, current, running } = await setup();
    const broken = join(dir, "broken");
    await makeTestBundle(broken, { version: "v2.0.0", seed: 3 });
    const modelPath = join(broken, BUNDLE_FILES.model);
    const bytes = await readFile(modelPath);
    bytes[bytes.length - 1] ^= 0xff;
    await writeFile(modelPath, bytes);
    await rm(current, { recursive: true });
    await rename(broken, current);

    // The folder is missing for a moment between the two renames: wait for the checksum failure.
    await waitFor("the failed reload to be reported", async () => {
      const model = (await (await fetch(`${running.url}/model`)).json()) as {
        lastReloadFailure: { reason: string } | null;
      };
      return /sha256/.test(model.lastReloadFailure?.reason ?? "");
    });
    const model = (await (await fetch(`${running.url}/model`)).json()) as {
      version: string;
      lastReloadFailure: { at: string; reason: string; trigger: string };
    };
    expect(model.version).toBe("v1.0.0");
    expect(model.lastReloadFailure.reason).toMatch(/sha256 .* does not match/);
    expect(Number.isNaN(Date.parse(model.lastReloadFailure.at))).toBe(false);
    expect((await postJson(`${running.url}/predict`, sampleRecord(1))).body.model_version).toBe(
      "v1.0.0",
    );
    expect((await fetch(`${running.url}/ready`)).status).toBe(200);

    const admin = await postJson(
      `${running.url}/admin/reload`,
      {},
      { authorization: `Bearer ${TOKEN}` },
    );
    expect(admin.status).toBe(409);
    expect(admin.body).toMatchObject({ outcome: "failed", version: "v1.0.0" });
    const metrics = await (await fetch(`${running.url}/metrics`)).text();
    expect(metrics).toMatch(/model_reloads_total\{trigger="admin",outcome="failed"\} 1/);
  });

  it("rejects a bundle whose feature schema the server cannot serve", async () => {
    const { dir, current, running } = await setup();
    const odd = join(dir, "odd");
    const { forest, schema } = await trainTestForest({ seed: 4 });
    await writeTestBundle(odd, forest, {
      schema: { ...schema, schemaVersion: 99 },
      version: "v3.0.0",
    });
    await rm(current, { recursive: true });
    await rename(odd, current);
    const admin = await postJson(
      `${running.url}/admin/reload`,
      {},
      { authorization: `Bearer ${TOKEN}` },
    );
    expect(admin.status).toBe(409);
    expect(admin.body.reason).toMatch(/schemaVersion 99/);
    expect((await postJson(`${running.url}/predict`, sampleRecord(2))).body.model_version).toBe(
      "v1.0.0",
    );
  });

  it("answers every request during 10 hot swaps, each with one of the two versions", async () => {
    const temp = await tempDir("reload-load-");
    cleanups.push(temp.cleanup);
    const releases = join(temp.dir, "releases");
    await makeTestBundle(join(releases, "a"), { version: "v1.0.0", seed: 1, trees: 20 });
    await makeTestBundle(join(releases, "b"), { version: "v2.0.0", seed: 2, trees: 20 });
    const current = join(temp.dir, "current");
    await symlink(join(releases, "a"), current);
    const running = await startTestServer({ modelDir: current });
    cleanups.push(() => running.close());

    const seen = new Map<string, number>();
    const failures: string[] = [];
    let requests = 0;
    let stop = false;
    const client = async (id: number) => {
      for (let i = 0; !stop && i < 100_000; i++) {
        try {
          const batch = i % 10 === 0;
          const body = batch ? [sampleRecord(i), sampleRecord(i + 1)] : sampleRecord(i + id);
          const answer = await postJson(`${running.url}/predict`, body);
          requests++;
          if (answer.status !== 200)
            failures.push(`${answer.status} ${JSON.stringify(answer.body)}`);
          const version = String(answer.body.model_version);
          seen.set(version, (seen.get(version) ?? 0) + 1);
        } catch (error) {
          failures.push(String(error));
        }
      }
    };
    const clients = Array.from({ length: 8 }, (_, id) => client(id));
    try {
      for (let swap = 1; swap <= 10; swap++) {
        const version = swap % 2 === 1 ? "v2.0.0" : "v1.0.0";
        await pointAt(current, join(releases, swap % 2 === 1 ? "b" : "a"));
        await waitFor(
          `swap ${swap} to ${version}`,
          async () => (await servedVersion(running.url)) === version,
        );
      }
    } finally {
      stop = true;
      await Promise.all(clients);
    }
    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThan(0);
    expect([...seen.keys()].sort()).toEqual(["v1.0.0", "v2.0.0"]);
    const metrics = await (await fetch(`${running.url}/metrics`)).text();
    const loads =
      metrics.match(/model_reloads_total\{trigger="[a-z]+",outcome="loaded"\} \d+/g) ?? [];
    expect(loads.reduce((sum, line) => sum + Number(line.split(" ")[1]), 0)).toBeGreaterThanOrEqual(
      10,
    );
  });
});
