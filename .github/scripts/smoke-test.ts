// Smoke tests of a deployment: runs the service image (or the service from source) on a bundle,
// waits for /ready, asks the seed's payload on /predict and checks the version it answers with;
// or waits until a running service reports a version. deploy.yml runs it; `--help` for usage.
import { type ChildProcess, spawn } from "node:child_process";
import { appendFile } from "node:fs/promises";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { freePort } from "../../lib/io/ports.ts";
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
    // A container may not listen yet: a refused connection is one more wait, not a failure.
    const response = await fetch(`${url}/ready`).catch((error: Error) => {
      last = `${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ""}`;
      return null;
    });
    if (response?.status === 200) return;
    if (response) last = `${response.status} ${await response.text()}`;
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

/** Checks a running service: /ready, the seed's payload on /predict, and (when given) the version
 * it answers with, both on /predict and on /model. */
export async function checkService(url: string, version?: string) {
  await waitUntilReady(url);
  const answer = await predictOnce(url);
  if (!(answer.predicted_price > 0)) {
    throw new Error(`/predict answered a price of ${answer.predicted_price}; expected > 0`);
  }
  if (version && answer.model_version !== version) {
    throw new Error(
      `/predict answered with model ${answer.model_version}; expected the deployed ${version}`,
    );
  }
  const model = (await (await fetch(`${url}/model`)).json()) as { version?: string };
  if (version && model.version !== version) {
    throw new Error(`/model reports ${model.version}; expected ${version}`);
  }
  return answer;
}

/** Serves `modelDir` from source, checks it, then stops. */
export async function smokeTest(options: { modelDir: string; version?: string }) {
  const service = await startService({ modelDir: options.modelDir });
  try {
    return await checkService(service.url, options.version);
  } finally {
    await service.stop();
  }
}

/** Runs `image` (as deployed: read-only, no capabilities) on `modelDir`, checks it, then stops. */
export async function smokeTestImage(options: {
  image: string;
  modelDir: string;
  version?: string;
  port?: number;
}) {
  const { resolveEngine } = await import("../../tools/container/engine.ts");
  const { runServiceContainer } = await import("../../tools/container/service-image.ts");
  const engine = await resolveEngine();
  if (!engine) throw new Error("no container engine: install podman, or docker with its daemon");
  const container = await runServiceContainer(engine, options.image, {
    port: options.port ?? (await freePort()),
    volumes: [`${resolve(options.modelDir)}:/models:ro`],
    env: { MODEL_DIR: "/models" },
  });
  try {
    return await checkService(container.url, options.version);
  } catch (error) {
    throw new Error(`${(error as Error).message}\ncontainer log:\n${await container.logs()}`);
  } finally {
    await container.stop();
  }
}

/** Waits until the service at `url` reports `version` on /model (a deploy reaching it). */
export async function waitForVersion(url: string, version: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/model`);
      const body = (await response.json()) as { version?: string };
      if (body.version === version) return;
      last = `${response.status}, version ${body.version ?? "none"}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  throw new Error(
    `${url}/model did not report ${version} within ${timeoutMs / 1000} s (last: ${last}); is the service following the registry (MODEL_SOURCE=registry)?`,
  );
}

const USAGE = `Usage:
  node .github/scripts/smoke-test.ts --image TAG --model-dir DIR --version V   run the image on the bundle
  node .github/scripts/smoke-test.ts --model-dir DIR [--version V]             serve the bundle from source
  node .github/scripts/smoke-test.ts --url URL --version V [--timeout S]       wait for a service to report V`;

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      "model-dir": { type: "string" },
      version: { type: "string" },
      image: { type: "string" },
      url: { type: "string" },
      timeout: { type: "string", default: "600" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const modelDir = values["model-dir"];
  try {
    let line: string;
    if (values.url) {
      if (!values.version) throw new Error(`--url needs --version\n${USAGE}`);
      await waitForVersion(values.url, values.version, Number(values.timeout) * 1000);
      line = `${values.url} serves ${values.version}`;
    } else if (modelDir) {
      const answer = values.image
        ? await smokeTestImage({ image: values.image, modelDir, version: values.version })
        : await smokeTest({ modelDir, version: values.version });
      line = `Smoke test of ${values.image ? `image ${values.image} on ` : ""}${modelDir}: /ready 200, /predict ${answer.predicted_price.toFixed(0)} from model ${answer.model_version}`;
    } else {
      console.error(`smoke-test: give --model-dir (and --image) or --url\n${USAGE}`);
      process.exit(2);
    }
    console.log(line);
    if (process.env.GITHUB_STEP_SUMMARY)
      await appendFile(process.env.GITHUB_STEP_SUMMARY, `${line}\n`);
  } catch (error) {
    console.error(`smoke-test: ${(error as Error).message}`);
    process.exit(1);
  }
}
