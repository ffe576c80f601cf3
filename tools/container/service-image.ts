// Builds and runs the prediction service's image (deploy/Dockerfile) with either engine, as the
// tests and the deploy workflow do it.
// `node tools/container/service-image.ts [--tag TAG] [--label KEY=VALUE ...]` builds it and
// prints the tag.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { ensureBaseImage } from "./base-image.ts";
import { DOCKERFILE } from "./dockerfile.ts";
import { type Engine, engineEnv, resolveEngine, runEngine, streamEngine } from "./engine.ts";

const run = promisify(execFile);

const REPO = fileURLToPath(new URL("../..", import.meta.url));
export const DEFAULT_TAG = "localhost/house-price-prediction:dev";

export type BaseChoice = "local" | "official";

/**
 * Which Node base to build on: CONTAINER_BASE=local (made here by base-image.ts) or official
 * (the Dockerfile's pinned image from Docker Hub). Unset: local with podman (this project's
 * machines cannot reach Docker Hub), official with docker (GitHub's runners).
 */
export function baseChoice(engine: Engine, env: NodeJS.ProcessEnv = process.env): BaseChoice {
  const chosen = env.CONTAINER_BASE;
  if (chosen === undefined || chosen === "") return engine === "podman" ? "local" : "official";
  if (chosen !== "local" && chosen !== "official") {
    throw new Error(`CONTAINER_BASE: "${chosen}" is not supported; expected local or official`);
  }
  return chosen;
}

/**
 * The CA bundle handed to `npm ci` as the build secret `ca`: CONTAINER_BUILD_CA, else the
 * NODE_EXTRA_CA_CERTS this process trusts (set on machines behind a TLS-intercepting proxy);
 * none when neither names an existing file.
 */
export function buildCaFile(env: NodeJS.ProcessEnv = process.env): string | null {
  const file = env.CONTAINER_BUILD_CA || env.NODE_EXTRA_CA_CERTS;
  return file && existsSync(file) ? file : null;
}

export interface BuildOptions {
  tag?: string;
  /** A Node base image reference; default per baseChoice. */
  baseImage?: string;
  /** Labels, e.g. org.opencontainers.image.revision. */
  labels?: Record<string, string>;
  log?: (line: string) => void;
}

/** The arguments of `<engine> build` for the service image. */
export function buildArguments(
  engine: Engine,
  options: {
    tag: string;
    baseImage?: string;
    caFile?: string | null;
    labels?: Record<string, string>;
  },
): string[] {
  const args = ["build", "--file", DOCKERFILE, "--tag", options.tag];
  if (engine === "podman") {
    // HEALTHCHECK exists only in the docker image format; podman reads the Dockerfile's ignore
    // file only when told; and its build containers reach the network here only on the host's.
    args.push(
      "--format",
      "docker",
      "--ignorefile",
      `${DOCKERFILE}.dockerignore`,
      "--network",
      "host",
    );
  }
  if (options.baseImage) args.push("--build-arg", `NODE_IMAGE=${options.baseImage}`);
  if (options.caFile) args.push("--secret", `id=ca,src=${options.caFile}`);
  for (const [key, value] of Object.entries(options.labels ?? {})) {
    args.push("--label", `${key}=${value}`);
  }
  args.push(REPO);
  return args;
}

/** Builds the service image and returns its tag. */
export async function buildServiceImage(
  engine: Engine,
  options: BuildOptions = {},
): Promise<string> {
  const tag = options.tag ?? DEFAULT_TAG;
  const baseImage =
    options.baseImage ??
    (baseChoice(engine) === "local"
      ? await ensureBaseImage(engine, { log: options.log })
      : undefined);
  await streamEngine(
    engine,
    buildArguments(engine, { tag, baseImage, caFile: buildCaFile(), labels: options.labels }),
    { output: options.log ?? (() => {}) },
  );
  return tag;
}

/** The image's size in bytes, as the engine reports it. */
export async function imageSize(engine: Engine, image: string): Promise<number> {
  return Number(
    (await runEngine(engine, ["image", "inspect", "--format", "{{.Size}}", image])).trim(),
  );
}

export interface RunOptions {
  /** Host port the service listens on (the container shares the host's network). */
  port: number;
  env?: Record<string, string>;
  /** Bind mounts `host:container[:ro]`. */
  volumes?: string[];
  name?: string;
}

export interface RunningContainer {
  name: string;
  url: string;
  logs(): Promise<string>;
  /** Stops (SIGTERM, then the engine's timeout) and removes the container. */
  stop(): Promise<void>;
}

/**
 * Starts the service image detached, as it is meant to run: read-only root file system, a
 * tmpfs /tmp, no capabilities, no privilege gain. It shares the host's network (podman here
 * has no other that works) and listens on 127.0.0.1:`port`.
 */
export async function runServiceContainer(
  engine: Engine,
  image: string,
  options: RunOptions,
): Promise<RunningContainer> {
  const name = options.name ?? `house-price-test-${randomBytes(4).toString("hex")}`;
  const env = { HOST: "127.0.0.1", PORT: String(options.port), ...options.env };
  const args = [
    "run",
    "--detach",
    "--name",
    name,
    "--network",
    "host",
    "--read-only",
    "--tmpfs",
    "/tmp",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
    ...Object.entries(env).flatMap(([key, value]) => ["--env", `${key}=${value}`]),
    ...(options.volumes ?? []).flatMap((volume) => ["--volume", volume]),
    image,
  ];
  await runEngine(engine, args);
  return {
    name,
    url: `http://127.0.0.1:${options.port}`,
    logs: () =>
      run(engine, ["logs", name], { env: engineEnv(engine), maxBuffer: 16 * 1024 * 1024 }).then(
        ({ stdout, stderr }) => `${stdout}${stderr}`,
        (error: Error) => `(no logs: ${error.message})`,
      ),
    stop: async () => {
      await runEngine(engine, ["stop", "-t", "10", name]).catch(() => undefined);
      await runEngine(engine, ["rm", "--force", name]).catch(() => undefined);
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const { values } = parseArgs({
      options: {
        tag: { type: "string", default: DEFAULT_TAG },
        label: { type: "string", multiple: true, default: [] },
      },
    });
    const labels = Object.fromEntries(
      values.label.map((label) => {
        const at = label.indexOf("=");
        if (at < 1) throw new Error(`--label: "${label}" is not KEY=VALUE`);
        return [label.slice(0, at), label.slice(at + 1)];
      }),
    );
    const engine = await resolveEngine();
    if (!engine) throw new Error("no container engine: install podman, or docker with its daemon");
    const tag = await buildServiceImage(engine, {
      tag: values.tag,
      labels,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    process.stdout.write(`${tag}\n`);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
}
