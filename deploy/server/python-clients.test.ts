// The service driven by Python tools, against a real server on loopback with a real model bundle:
// Schemathesis fuzzes the served /openapi.json with all its checks (the document and the server must
// agree exactly: a schema-valid request gets 2xx, an invalid one 4xx, every status is declared),
// and MLflow's own scoring-server client sends a DataFrame with NaN for a missing value.
// The Python packages come from the pinned test/requirements.txt (test/support/python-venv.ts).
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Forest } from "../../lib/forest/forest.ts";
import { type FeatureSchema, featureVector } from "../../lib/schema/features.ts";
import { makeTestBundle, sampleRecord } from "../../test/support/bundle.ts";
import { tempDir } from "../../test/support/housing.ts";
import { ensureTestVenv, findPython } from "../../test/support/python-venv.ts";
import type { RunningServer } from "./server.ts";
import { postJson, startTestServer } from "./test-helpers.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const TOKEN = "schemathesis-admin-token-0123456789";
const found = findPython();
const missing = "missing" in found ? found.missing : null;
// Outside CI a machine without Python skips, saying why; under CI the tests run and fail.
const skip = missing !== null && process.env.CI !== "true";
if (skip) console.warn(`Python client tests: skipped, ${missing}`);

/** Runs the environment's python; resolves with its exit code and output. */
function runPython(
  python: string,
  args: string[],
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe.skipIf(skip)("Python clients against a running server", () => {
  let python: string;
  let running: RunningServer;
  let forest: Forest;
  let schema: FeatureSchema;
  let work: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    if (missing) throw new Error(`${missing}; CI needs it for Schemathesis and MLflow's client`);
    ({ python } = await ensureTestVenv());
    const temp = await tempDir("python-clients-");
    ({ dir: work, cleanup } = temp);
    ({ forest, schema } = await makeTestBundle(join(work, "current"), {
      version: "v1.0.0",
      trees: 4,
    }));
    // A small MAX_BATCH keeps generated batches far below BODY_LIMIT (a 413 for size would be a
    // rejected valid request); the admin route is on, so its 200/401/403/409 paths are reachable.
    running = await startTestServer({
      modelDir: join(work, "current"),
      adminToken: TOKEN,
      maxBatch: 20,
    });
  }, 20 * 60_000);

  afterAll(async () => {
    await running?.close();
    await cleanup?.();
  });

  it(
    "passes Schemathesis with all checks: 0 failures, 0 errors, every operation tested",
    async () => {
      const report = join(work, "schemathesis.json");
      const { code, stdout, stderr } = await runPython(
        python,
        [
          "-m",
          "schemathesis.cli",
          "--config-file",
          join(REPO, "test", "schemathesis.toml"),
          "run",
          `${running.url}/openapi.json`,
          "--checks",
          "all",
          // Every phase (examples, coverage, fuzzing, stateful) in both modes (positive, negative),
          // with few examples per operation and a fixed seed: bounded and repeatable.
          "--max-examples",
          "40",
          "--seed",
          "20240601",
          "--generation-database",
          "none",
          "--header",
          `Authorization: Bearer ${TOKEN}`,
          "--no-color",
          "--report",
          "json",
          "--report-json-path",
          report,
        ],
        work,
      );
      const output = `${stdout}\n${stderr}`;
      const summary = output.slice(output.lastIndexOf("\n", output.lastIndexOf(" SUMMARY ")));
      const result = JSON.parse(await readFile(report, "utf8")) as {
        schemathesis_version: string;
        exit_code: number;
        operations: { total: number; tested: number; errored: number };
        phases: Record<string, { status: string; skip_reason: string | null }>;
        test_cases: { generated: number; with_failures: number; errored: number };
        failures: unknown[];
        errors: unknown[];
        warnings: Record<string, unknown[]>;
        valid_rates: Record<string, Record<string, { accepted: number; rejected: number }>>;
      };
      console.log(`Schemathesis ${result.schemathesis_version}:${summary}`);
      expect(result.failures, output).toEqual([]);
      expect(result.errors, output).toEqual([]);
      expect(code, output).toBe(0);
      expect(result.operations).toMatchObject({ total: 8, tested: 8, errored: 0 });
      expect(result.test_cases.generated).toBeGreaterThan(300);
      for (const phase of ["examples", "coverage", "fuzzing"])
        expect(result.phases[phase].status, phase).toBe("success");
      // The service has no resources to link (no ids to create and read back): nothing to chain.
      expect(result.phases.stateful).toEqual({ status: "skip", skip_reason: "not_applicable" });
      for (const [kind, list] of Object.entries(result.warnings)) expect(list, kind).toEqual([]);
      // Generated requests do reach the model: schema-valid bodies of both scoring routes were
      // accepted in every phase (the document's examples too), none rejected.
      for (const operation of ["POST /predict", "POST /invocations"]) {
        for (const phase of ["examples", "coverage", "fuzzing"]) {
          const rate = result.valid_rates[operation][phase];
          expect(rate.accepted, `${operation} ${phase}`).toBeGreaterThan(0);
          expect(rate.rejected, `${operation} ${phase}`).toBe(0);
        }
      }
    },
    10 * 60_000,
  );

  it(
    "answers MLflow's ScoringServerClient, whose NaN is a missing value exactly like null",
    async () => {
      const records = Array.from({ length: 6 }, (_, i) => ({
        ...sampleRecord(i + 40),
        total_bedrooms: i % 2 === 1 ? null : sampleRecord(i + 40).total_bedrooms,
      }));
      const { hostname, port } = new URL(running.url);
      const { code, stdout, stderr } = await runPython(
        python,
        [
          join(REPO, "test", "support", "mlflow_client.py"),
          hostname,
          port,
          JSON.stringify(records),
        ],
        work,
      );
      expect(code, stderr).toBe(0);
      const answer = JSON.parse(stdout) as { body: string; predictions: number[] };
      // MLflow's client serializes the DataFrame's NaN as a bare NaN token, not as null.
      expect(answer.body).toMatch(/\[[^\]]*\bNaN\b/);
      expect(answer.body).not.toMatch(/\bnull\b/);
      const withNull = records.map((record) => forest.predictOne(featureVector(record, schema)));
      expect(answer.predictions).toEqual(withNull);
      const asRecords = await postJson(`${running.url}/invocations`, {
        dataframe_records: records,
      });
      expect(asRecords.body.predictions).toEqual(answer.predictions);
    },
    5 * 60_000,
  );
});
