// Smoke test of a deployed model: starts the prediction service (deploy/server/index.ts) on the
// bundle, waits for /ready and asks one /predict, which must answer with the expected version.
// `node .github/scripts/smoke-test.ts --model-dir DIR [--version vX.Y.Z]`; deploy.yml runs it.
import { type ChildProcess, spawn } from "node:child_process";
import { appendFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { SAMPLE_RECORD } from "../../lib/schema/features.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

export interface RunningService {
  url: string;
  process: ChildProcess;
  /** Everything the service wrote, for error messages. */
  output: string[];
  stop(): Promise<void>;
}

/** Starts `node deploy/server/index.ts` on a free port of 127.0.0.1 and resolves once it listens. */
export async function startService(options: {
  modelDir: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}): Promise<RunningService> {
  const child = spawn(process.execPath, ["deploy/server/index.ts"], {
    cwd: REPO,
    env: {
      ...process.env,
      ...options.env,
      MODEL_DIR: options.modelDir,
      PORT: "0",
      HOST: "127.0.0.1",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", (line) =>
    output.push(line),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(new Error(`the service did not listen within ${options.timeoutMs ?? 20_000} ms`)),
      options.timeoutMs ?? 20_000,
    );
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the service exited with code ${code}: ${output.join("\n")}`));
    });
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      output.push(line);
      const entry = parseLine(line);
      if (entry?.msg === "listening" && typeof entry.url === "string") {
        clearTimeout(timer);
        resolve(entry.url);
      }
    });
  }).catch(async (error: unknown) => {
    child.kill("SIGTERM");
    await exited;
    throw error;
  });
  return {
    url,
    process: child,
    output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

function parseLine(line: string): Record<string, unknown> | null {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** Waits until GET /ready answers 200; fails with the last answer after `timeoutMs`. */
export async function waitUntilReady(url: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    const response = await fetch(`${url}/ready`);
    if (response.status === 200) return;
    last = `${response.status} ${await response.text()}`;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url}/ready did not answer 200 within ${timeoutMs} ms; last answer: ${last}`);
}

/** POSTs SAMPLE_RECORD to /predict and returns the answer; fails on any status but 200. */
export async function predictOnce(
  url: string,
): Promise<{ predicted_price: number; model_version: string }> {
  const response = await fetch(`${url}/predict`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(SAMPLE_RECORD),
  });
  const text = await response.text();
  if (response.status !== 200)
    throw new Error(`${url}/predict answered ${response.status}: ${text}`);
  return JSON.parse(text) as { predicted_price: number; model_version: string };
}

/** Serves `modelDir`, checks /ready and one /predict (and its version when given), then stops. */
export async function smokeTest(options: { modelDir: string; version?: string }) {
  const service = await startService({ modelDir: options.modelDir });
  try {
    await waitUntilReady(service.url);
    const answer = await predictOnce(service.url);
    if (!(answer.predicted_price > 0)) {
      throw new Error(`/predict answered a price of ${answer.predicted_price}; expected > 0`);
    }
    if (options.version && answer.model_version !== options.version) {
      throw new Error(
        `/predict answered with model ${answer.model_version}; expected the deployed ${options.version}`,
      );
    }
    return answer;
  } finally {
    await service.stop();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { "model-dir": { type: "string" }, version: { type: "string" } },
  });
  const modelDir = values["model-dir"];
  if (!modelDir) {
    console.error(
      "smoke-test: give --model-dir DIR (the deployed bundle, e.g. deploy/models/current)",
    );
    process.exit(2);
  }
  try {
    const answer = await smokeTest({ modelDir, version: values.version });
    const line = `Smoke test of ${modelDir}: /ready 200, /predict ${answer.predicted_price.toFixed(0)} from model ${answer.model_version}`;
    console.log(line);
    if (process.env.GITHUB_STEP_SUMMARY)
      await appendFile(process.env.GITHUB_STEP_SUMMARY, `${line}\n`);
  } catch (error) {
    console.error(`smoke-test: ${(error as Error).message}`);
    process.exit(1);
  }
}
