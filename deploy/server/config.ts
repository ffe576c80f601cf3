// The server's settings, read from the environment once at start-up and validated with zod, so
// a bad value stops the process before it listens, with a message naming the variable.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

/** Where models come from: a folder someone else fills, or the registry the server follows. */
export type ModelSource =
  | { kind: "dir" }
  | {
      kind: "registry";
      /** `owner/repo` on GitHub (with apiUrl and token), or a local git repository's path. */
      repository: string | undefined;
      gitDir: string | undefined;
      apiUrl: string | undefined;
      /** Read from REGISTRY_TOKEN_FILE (a mounted secret) or REGISTRY_TOKEN; never logged. */
      token: string | undefined;
      stage: string;
      /** Downloaded bundles and the `current` link the server loads (a volume). */
      cacheDir: string;
      pollMs: number;
      jitter: number;
    };

export interface ServerConfig {
  port: number;
  host: string;
  /** The bundle folder (or a symlink to one), watched for hot reload; in registry mode, the
   * cache's `current` link. */
  modelDir: string;
  source: ModelSource;
  /** Bearer token of POST /admin/reload; the route is disabled when absent. */
  adminToken: string | undefined;
  /** The most records one /predict or /invocations request may carry. */
  maxBatch: number;
  /** The largest accepted request body, in the `bytes` format of body-parser (e.g. 1mb). */
  bodyLimit: string;
  /** How often the model location is checked when no file-system event arrives. */
  modelPollMs: number;
  /** How long a shutdown waits for in-flight requests before closing their connections. */
  shutdownTimeoutMs: number;
}

export const DEFAULT_MODEL_DIR = "deploy/models/current";

const integer = (min: number, max: number) =>
  z.coerce
    .number({ error: "expected a number" })
    .int("expected an integer")
    .min(min, `expected an integer >= ${min}`)
    .max(max, `expected an integer <= ${max}`);

const envSchema = z.object({
  PORT: integer(0, 65_535).default(8080),
  HOST: z.string().min(1).default("127.0.0.1"),
  MODEL_DIR: z.string().min(1).default(DEFAULT_MODEL_DIR),
  ADMIN_TOKEN: z
    .string()
    .min(16, "expected at least 16 characters; use a random secret")
    .optional(),
  MAX_BATCH: integer(1, 100_000).default(1000),
  BODY_LIMIT: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(b|kb|mb|gb)?$/i, "expected a size such as 512kb or 1mb")
    .default("1mb"),
  MODEL_POLL_MS: integer(100, 3_600_000).default(2000),
  SHUTDOWN_TIMEOUT_MS: integer(0, 600_000).default(10_000),
  MODEL_SOURCE: z.enum(["dir", "registry"]).default("dir"),
  REGISTRY_REPOSITORY: z
    .string()
    .regex(/^[^/\s]+\/[^/\s]+$/, "expected owner/repo")
    .optional(),
  REGISTRY_GIT_DIR: z.string().min(1).optional(),
  GITHUB_API_URL: z.url({ error: "expected a URL such as https://api.github.com" }).optional(),
  REGISTRY_TOKEN: z.string().min(1).optional(),
  REGISTRY_TOKEN_FILE: z.string().min(1).optional(),
  REGISTRY_STAGE: z.string().min(1).default("production"),
  MODEL_CACHE_DIR: z.string().min(1).default("deploy/models"),
  REGISTRY_POLL_MS: integer(1000, 86_400_000).default(30_000),
  REGISTRY_POLL_JITTER: z.coerce.number().min(0).max(1).default(0.2),
});

const SECRET_VARIABLES = new Set(["ADMIN_TOKEN", "REGISTRY_TOKEN"]);

/** Reads the server settings from `env`; throws one message naming every bad variable. */
export function parseEnv(env: Record<string, string | undefined>): ServerConfig {
  // An empty variable (e.g. `ADMIN_TOKEN=` in a compose file) means "not set".
  const present = Object.fromEntries(
    Object.keys(envSchema.shape).flatMap((name) =>
      env[name] === undefined || env[name] === "" ? [] : [[name, env[name]]],
    ),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      const found = SECRET_VARIABLES.has(name)
        ? "value hidden"
        : `found ${JSON.stringify(present[name])}`;
      return `${name}: ${issue.message} (${found})`;
    });
    throw new Error(`invalid environment:\n  ${problems.join("\n  ")}`);
  }
  const values = parsed.data;
  const source = modelSource(values);
  return {
    port: values.PORT,
    host: values.HOST,
    modelDir: source.kind === "registry" ? join(source.cacheDir, "current") : values.MODEL_DIR,
    source,
    adminToken: values.ADMIN_TOKEN,
    maxBatch: values.MAX_BATCH,
    bodyLimit: values.BODY_LIMIT,
    modelPollMs: values.MODEL_POLL_MS,
    shutdownTimeoutMs: values.SHUTDOWN_TIMEOUT_MS,
  };
}

/** The model source the variables describe; registry mode needs exactly one registry. */
function modelSource(values: z.infer<typeof envSchema>): ModelSource {
  if (values.MODEL_SOURCE === "dir") return { kind: "dir" };
  const problem = (message: string) => new Error(`invalid environment:\n  ${message}`);
  if (Boolean(values.REGISTRY_REPOSITORY) === Boolean(values.REGISTRY_GIT_DIR)) {
    throw problem(
      "MODEL_SOURCE=registry: set REGISTRY_REPOSITORY (owner/repo on GitHub) or REGISTRY_GIT_DIR (a local git repository), one of them",
    );
  }
  let token = values.REGISTRY_TOKEN;
  if (values.REGISTRY_TOKEN_FILE) {
    try {
      token = readFileSync(values.REGISTRY_TOKEN_FILE, "utf8").trim();
    } catch (error) {
      throw problem(
        `REGISTRY_TOKEN_FILE: cannot read ${values.REGISTRY_TOKEN_FILE} (${(error as NodeJS.ErrnoException).code ?? "error"})`,
      );
    }
  }
  if (values.REGISTRY_REPOSITORY && !token) {
    throw problem(
      "MODEL_SOURCE=registry with REGISTRY_REPOSITORY: set REGISTRY_TOKEN_FILE (a file holding a read-only token) or REGISTRY_TOKEN",
    );
  }
  return {
    kind: "registry",
    repository: values.REGISTRY_REPOSITORY,
    gitDir: values.REGISTRY_GIT_DIR,
    apiUrl: values.GITHUB_API_URL,
    token,
    stage: values.REGISTRY_STAGE,
    cacheDir: values.MODEL_CACHE_DIR,
    pollMs: values.REGISTRY_POLL_MS,
    jitter: values.REGISTRY_POLL_JITTER,
  };
}
