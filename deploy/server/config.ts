// The server's settings, read from the environment once at start-up and validated with zod, so
// a bad value stops the process before it listens, with a message naming the variable.
import { z } from "zod";

export interface ServerConfig {
  port: number;
  host: string;
  /** The deployed bundle folder (or a symlink to one), watched for hot reload. */
  modelDir: string;
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
});

const SECRET_VARIABLES = new Set(["ADMIN_TOKEN"]);

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
  return {
    port: values.PORT,
    host: values.HOST,
    modelDir: values.MODEL_DIR,
    adminToken: values.ADMIN_TOKEN,
    maxBatch: values.MAX_BATCH,
    bodyLimit: values.BODY_LIMIT,
    modelPollMs: values.MODEL_POLL_MS,
    shutdownTimeoutMs: values.SHUTDOWN_TIMEOUT_MS,
  };
}
