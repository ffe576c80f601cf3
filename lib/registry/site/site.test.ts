// The site generator without a browser: the stage timelines against the registry's own
// stageHolder, the gate's rules against the evaluate stage's applyGate, escaping, bad tags, an empty
// registry, 10,000 versions, the replaced folder, the compiled chart specs and the CLI.
import { spawn } from "node:child_process";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { applyGate, type ModelScore } from "../../../stages/4-evaluate/evaluate.ts";
import { createTempRepo, type TempRepo } from "../../../test/support/git-repo.ts";
import { tempDir } from "../../../test/support/housing.ts";
import {
  memoryBackend,
  syntheticRegistry,
  syntheticTags,
} from "../../../test/support/synthetic-registry.ts";
import { registryOnBackend } from "../registry.ts";
import { buildRegistryState, stageHolder } from "../state.ts";
import { formatTagMessage } from "../tags.ts";
import type { TagRecord } from "../types.ts";
import { gateRules, holderAt } from "./assets/shared.js";
import { compileCharts, readChartSpecs } from "./charts.ts";
import { buildRegistrySite, SITE_MARKER } from "./generate.ts";
import { escapeHtml, html, jsonScript } from "./html.ts";
import { buildSiteData, readSiteSource, safeUrl } from "./site-data.ts";
import { stageChanges } from "./stage-timeline.ts";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const LINKS = { repositoryUrl: "https://github.com/octo-org/house-price", repositoryDir: null };

let work: { dir: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  work = await tempDir("site-test-");
});
afterEach(() => work.cleanup());

/** Checks holderAt over stageChanges against stageHolder at every event, a millisecond either
 * side, and halfway to the next event. */
function expectSameHolders(tags: TagRecord[]): number {
  const state = buildRegistryState("house-price", tags);
  const changes = stageChanges(state.events, new Set(state.versions.map((v) => v.version)));
  const times = [...new Set(state.events.map((event) => Date.parse(event.at)))].sort(
    (a, b) => a - b,
  );
  const probes = times.flatMap((time, i) => [
    time - 1,
    time,
    time + 1,
    i + 1 < times.length ? (time + times[i + 1]) / 2 : time + 60_000,
  ]);
  let checked = 0;
  for (const stage of ["production", "staging"]) {
    for (const at of probes) {
      const expected = stageHolder(state, stage, new Date(at));
      const actual = holderAt(changes.get(stage) ?? [], at);
      expect(
        actual && { version: actual.version, since: actual.since },
        `${stage} at ${new Date(at).toISOString()}`,
      ).toEqual(
        expected && { version: expected.version.version, since: Date.parse(expected.assignedAt) },
      );
      checked++;
    }
  }
  return checked;
}

function tag(name: string, at: string, summary: string, data: unknown, commit = "a".repeat(40)) {
  return { name, commit, taggedAt: at, message: formatTagMessage(summary, data) };
}

describe("stage timelines", () => {
  it("answer as stageHolder does for a long synthetic history (rollbacks, deregistrations)", () => {
    expect(expectSameHolders(syntheticTags(300))).toBeGreaterThan(2000);
  });

  it("answer as stageHolder does for deprecation, a deregistered holder, same-instant events and an unknown version", () => {
    const registration = (version: string, at: string) =>
      tag(`house-price@${version}`, at, `Registering ${version}`, { version });
    const tags: TagRecord[] = [
      registration("v1.0.0", "2025-01-01T00:00:00Z"),
      registration("v1.1.0", "2025-01-01T01:00:00Z"),
      tag("house-price#production#1", "2025-01-01T02:00:00Z", "assign", { version: "v1.0.0" }),
      // Two events at one instant: the later counter wins.
      tag("house-price#production#2", "2025-01-01T03:00:00Z", "assign", { version: "v1.1.0" }),
      tag("house-price#production!#3", "2025-01-01T03:00:00Z", "unassign", { version: "v1.0.0" }),
      // The holder deregistered: nobody holds production.
      tag("house-price@v1.1.0!#4", "2025-01-01T04:00:00Z", "deregister", { version: "v1.1.0" }),
      tag("house-price#production#5", "2025-01-01T05:00:00Z", "assign", { version: "v1.0.0" }),
      // The whole artifact deprecated, then an event after it revives it.
      tag("house-price@deprecated#6", "2025-01-01T06:00:00Z", "deprecate", {}),
      tag("house-price#staging#7", "2025-01-01T07:00:00Z", "assign", { version: "v1.0.0" }),
      // An assignment of a version that was never registered here (GTO maps it by commit).
      tag("house-price#staging#8", "2025-01-01T08:00:00Z", "assign", {}, "b".repeat(40)),
    ];
    expectSameHolders(tags);
    const state = buildRegistryState("house-price", tags);
    const production = stageChanges(state.events, new Set(["v1.0.0", "v1.1.0"])).get("production");
    expect(production?.map(([at, version]) => [new Date(at).toISOString(), version])).toEqual([
      ["2025-01-01T02:00:00.000Z", "v1.0.0"],
      ["2025-01-01T03:00:00.000Z", "v1.1.0"],
      ["2025-01-01T04:00:00.000Z", null],
      ["2025-01-01T05:00:00.000Z", "v1.0.0"],
      ["2025-01-01T06:00:00.000Z", null],
      ["2025-01-01T07:00:00.000Z", "v1.0.0"],
    ]);
  });
});

describe("the gate on the compare page", () => {
  const score = (version: string, rmse: number): ModelScore => ({
    version,
    metrics: { rmse, mae: rmse * 0.7, r2: 0.8 },
    segments: {},
  });

  it.each([
    [51_000, null],
    [56_000, null],
    [51_000, 50_500],
    [51_000, 49_000],
    [55_000, 53_922],
  ])(
    "candidate RMSE %d against production %s: the evaluate stage's rules",
    (rmse, productionRmse) => {
      const production = productionRmse === null ? null : score("v1.0.0", productionRmse);
      const expected = applyGate(score("v1.1.0", rmse), production, 55_000, 0.02);
      const actual = gateRules(
        rmse,
        production && { version: "v1.0.0", rmse: production.metrics.rmse },
        { rmseThreshold: 55_000, tolerance: 0.02 },
      );
      expect(actual).toEqual(expected);
    },
  );
});

describe("escaping", () => {
  it("escapes interpolated text and keeps fragments built by html", () => {
    const param = `<script>alert("x")</script>&'`;
    expect(escapeHtml(param)).toBe("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;");
    expect(html`<td>${param}</td>${html`<b>${"<i>"}</b>`}`.html).toBe(
      "<td>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;</td><b>&lt;i&gt;</b>",
    );
  });

  it("keeps JSON for scripts inside its script element", () => {
    const { html: markup } = jsonScript("d", { note: "</script><script>alert(1)</script>" });
    expect(markup.match(/<\/script>/g)).toHaveLength(1);
    const json = markup.slice(markup.indexOf(">") + 1, markup.lastIndexOf("</script>"));
    expect(JSON.parse(json)).toEqual({ note: "</script><script>alert(1)</script>" });
  });

  it("links only http(s) addresses", () => {
    expect(safeUrl("https://github.com/o/r/actions/runs/1")).toBe(
      "https://github.com/o/r/actions/runs/1",
    );
    expect(safeUrl("javascript:alert(1)")).toBeNull();
    expect(safeUrl("not a url")).toBeNull();
  });
});

/** A registry of hand-written tags, read by the real registry code. */
function registryOf(tags: TagRecord[]) {
  return registryOnBackend(memoryBackend(tags), { name: "house-price" });
}

describe("bad input", () => {
  it("builds a friendly site for a registry without versions", async () => {
    const outDir = join(work.dir, "site");
    const summary = await buildRegistrySite(registryOf([]), { outDir, links: LINKS });
    expect(summary.versions).toBe(0);
    const overview = await readFile(join(outDir, "index.html"), "utf8");
    expect(overview).toContain("No versions yet");
    expect(overview).toContain("npm run pipeline");
    expect(await readFile(join(outDir, "versions", "index.html"), "utf8")).toContain(
      "No versions yet",
    );
    expect(await readFile(join(outDir, "compare.html"), "utf8")).toContain(
      "Comparing needs two versions",
    );
    expect(await readFile(join(outDir, "timeline.html"), "utf8")).toContain(
      "No stage has been assigned yet",
    );
    expect(JSON.parse(await readFile(join(outDir, "data", "versions.json"), "utf8")).rows).toEqual(
      [],
    );
  });

  it("says what is missing for tags without lineage, with malformed parts, or not JSON at all", async () => {
    const good = syntheticTags(1);
    const lineage = JSON.parse(good[0].message.slice(good[0].message.indexOf("\n\n") + 2)).lineage;
    const tags: TagRecord[] = [
      ...good,
      // Plain `gto register`: a one-line message.
      {
        ...good[0],
        name: "house-price@v2.0.0",
        message: "Registering artifact house-price version v2.0.0",
      },
      // A JSON block that does not parse.
      { ...good[0], name: "house-price@v2.1.0", message: 'summary\n\n{"lineage": {"model": ' },
      // Lineage whose metrics and evaluation are malformed, and a run address that is not a link.
      tag("house-price@v2.2.0", "2025-03-01T00:00:00Z", "Registering v2.2.0", {
        lineage: {
          ...lineage,
          metrics: { validation: "fast" },
          evaluation: undefined,
          run: { id: "7", url: "javascript:alert(1)" },
        },
      }),
    ];
    const outDir = join(work.dir, "site");
    const summary = await buildRegistrySite(registryOf(tags), { outDir, links: LINKS });
    expect(summary.versions).toBe(4);
    for (const version of ["v2.0.0", "v2.1.0"]) {
      const page = await readFile(join(outDir, "versions", `${version}.html`), "utf8");
      expect(page).toContain("carries no lineage");
      expect(page).toContain("no params recorded");
      expect(page).toContain("no evaluation report");
    }
    const partial = await readFile(join(outDir, "versions", "v2.2.0.html"), "utf8");
    expect(partial).not.toContain("carries no lineage");
    expect(partial).toContain("<code>nEstimators</code>");
    expect(partial).toContain("no evaluation report");
    expect(partial).toContain("run 7 (its address is not a web link)");
    expect(partial).not.toContain("javascript:");
    const index = JSON.parse(await readFile(join(outDir, "data", "versions.json"), "utf8"));
    expect(index.rows.map((row: unknown[]) => [row[0], row[5], row[9]])).toEqual([
      ["v1.0.0", expect.any(Number), "active passed"],
      ["v2.0.0", null, "active unevaluated"],
      ["v2.1.0", null, "active unevaluated"],
      ["v2.2.0", null, "active unevaluated"],
    ]);
  });

  it("builds 10,000 versions, the tables paged in the browser and the events in files of 50", async () => {
    const outDir = join(work.dir, "site");
    const summary = await buildRegistrySite(syntheticRegistry(10_000), { outDir, links: LINKS });
    expect(summary.versions).toBe(10_000);
    expect(await readdir(join(outDir, "versions"))).toHaveLength(10_001);
    const index = JSON.parse(await readFile(join(outDir, "data", "versions.json"), "utf8"));
    expect(index.rows).toHaveLength(10_000);
    const events = await readdir(join(outDir, "data", "events"));
    const timeline = await readFile(join(outDir, "timeline.html"), "utf8");
    const count = Number(/"eventCount":(\d+)/.exec(timeline)?.[1]);
    expect(events).toHaveLength(Math.ceil(count / 50));
    expect(
      JSON.parse(await readFile(join(outDir, "data", "events", "0.json"), "utf8")),
    ).toHaveLength(50);
  }, 180_000);
});

describe("the output folder", () => {
  it("replaces an earlier site whole, refuses a folder that holds anything else, and keeps the old site when a build fails", async () => {
    const outDir = join(work.dir, "site");
    await buildRegistrySite(syntheticRegistry(3), { outDir, links: LINKS });
    await writeFile(join(outDir, "stray.txt"), "left from before");
    await buildRegistrySite(syntheticRegistry(2), { outDir, links: LINKS });
    expect(await readdir(outDir)).not.toContain("stray.txt");
    expect(JSON.parse(await readFile(join(outDir, SITE_MARKER), "utf8")).versions).toBe(2);

    const failing = {
      ...syntheticRegistry(1),
      history: () => Promise.reject(new Error("API down")),
    };
    await expect(buildRegistrySite(failing, { outDir, links: LINKS })).rejects.toThrow("API down");
    expect(JSON.parse(await readFile(join(outDir, SITE_MARKER), "utf8")).versions).toBe(2);

    const other = join(work.dir, "notes");
    await mkdir(other);
    await writeFile(join(other, "keep.md"), "mine");
    await expect(
      buildRegistrySite(syntheticRegistry(1), { outDir: other, links: LINKS }),
    ).rejects.toThrow(/is not empty and holds no site\.json of an earlier site build/);
    expect(await readdir(other)).toEqual(["keep.md"]);
  });
});

describe("the data", () => {
  it("comes from list() and history() alone, one card per version with its events", async () => {
    const calls: string[] = [];
    const registry = syntheticRegistry(20);
    const counted = new Proxy(registry, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          calls.push(String(property));
          return value.apply(target, args);
        };
      },
    });
    const data = buildSiteData(await readSiteSource(counted), LINKS);
    expect(calls.sort()).toEqual(["history", "list"]);
    expect(data.cards).toHaveLength(20);
    expect(data.stages).toEqual(["production", "staging"]);
    const latest = data.cards.at(-1);
    expect(latest?.previous).toBe("v1.18.0");
    expect(latest?.events[0].kind).toBe("registration");
  });

  it("ships the chart specs compiled from charts.ts", async () => {
    expect(await readChartSpecs()).toEqual(await compileCharts());
  });
});

/** Runs the registry CLI; resolves with its exit code and output once `until` matches or it ends. */
function runCli(args: string[], until?: RegExp) {
  const child = spawn(process.execPath, [join(ROOT, "cli", "registry.ts"), ...args], {
    cwd: ROOT,
    env: { ...process.env, GITHUB_TOKEN: "", GITHUB_REPOSITORY: "" },
  });
  let output = "";
  return new Promise<{ code: number | null; output: string; stop: () => Promise<number | null> }>(
    (resolve, reject) => {
      const ended = new Promise<number | null>((done) => child.once("close", done));
      const stop = () => {
        child.kill("SIGTERM");
        return ended;
      };
      const onData = (chunk: Buffer) => {
        output += chunk;
        if (until?.test(output)) resolve({ code: null, output, stop });
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      child.once("error", reject);
      ended.then((code) => resolve({ code, output, stop }));
    },
  );
}

describe("npm run registry -- site", () => {
  let repo: TempRepo;
  beforeEach(async () => {
    repo = await createTempRepo("site-cli-");
  });
  afterEach(() => repo.cleanup());

  it("builds the site of a local repository, and serves it on loopback until stopped", async () => {
    const outDir = join(work.dir, "out");
    const built = await runCli(["site", "--out", outDir, "--repo", repo.dir]);
    expect(built.code).toBe(0);
    expect(built.output).toMatch(/Built the site of 0 versions of house-price into .*out/);
    expect(await readFile(join(outDir, "index.html"), "utf8")).toContain("No versions yet");

    const served = await runCli(
      ["site", "--serve", "--port", "0", "--repo", repo.dir],
      /Serving the site .* at (http:\/\/127\.0\.0\.1:\d+\/)/,
    );
    const url = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(served.output)?.[1] as string;
    const response = await fetch(`${url}versions/index.html`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("<h1>Versions</h1>");
    expect((await fetch(`${url}assets/vega.min.js`)).status).toBe(200);
    expect(await served.stop()).toBe(0);
  });

  it("refuses a call without --out or --serve, and a bad port, with exit code 2", async () => {
    const none = await runCli(["site", "--repo", repo.dir]);
    expect(none.code).toBe(2);
    expect(none.output).toContain("site needs --out <DIR>, --serve, or both");
    const port = await runCli(["site", "--serve", "--port", "http", "--repo", repo.dir]);
    expect(port.code).toBe(2);
    expect(port.output).toContain('--port must be a whole number from 0 to 65535, not "http"');
  });
});
