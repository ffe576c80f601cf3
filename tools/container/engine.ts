// The one switch between container engines: docker on GitHub's runners, podman on machines
// without a Docker engine (this project's own). `CONTAINER_ENGINE=docker|podman` chooses; unset,
// docker is used when its daemon answers, else podman when installed.
// `node tools/container/engine.ts ARGS...` runs the chosen engine with its settings, e.g.
// `node tools/container/engine.ts build -f deploy/Dockerfile .`
import { execFile, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

export const ENGINES = ["docker", "podman"] as const;
export type Engine = (typeof ENGINES)[number];

/** podman's settings for these machines (ulimits, runc); see tools/container/README.md. */
export const CONTAINERS_CONF = fileURLToPath(new URL("containers.conf", import.meta.url));

const run = promisify(execFile);

async function answers(command: string, args: string[]): Promise<boolean> {
  return run(command, args, { timeout: 20_000 }).then(
    () => true,
    () => false,
  );
}

/**
 * The engine to use: CONTAINER_ENGINE when set, else docker if its daemon answers, else podman
 * if installed; null when neither is usable.
 */
export async function resolveEngine(env: NodeJS.ProcessEnv = process.env): Promise<Engine | null> {
  const chosen = env.CONTAINER_ENGINE;
  if (chosen !== undefined && chosen !== "") {
    if (!(ENGINES as readonly string[]).includes(chosen)) {
      throw new Error(
        `CONTAINER_ENGINE: "${chosen}" is not supported; expected one of ${ENGINES.join(", ")}`,
      );
    }
    return chosen as Engine;
  }
  // A docker CLI without a daemon (as on this project's machines) does not count.
  if (await answers("docker", ["info", "--format", "{{.ServerVersion}}"])) return "docker";
  if (await answers("podman", ["--version"])) return "podman";
  return null;
}

/** The environment to run `engine` with: podman gets the project's containers.conf. */
export function engineEnv(engine: Engine, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (engine !== "podman" || env.CONTAINERS_CONF) return env;
  return { ...env, CONTAINERS_CONF };
}

/** Runs `engine args` and returns its stdout; the error names the command and its stderr. */
export async function runEngine(
  engine: Engine,
  args: string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<string> {
  try {
    const { stdout } = await run(engine, args, {
      cwd: options.cwd,
      env: engineEnv(engine),
      timeout: options.timeoutMs ?? 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new Error(
      `${engine} ${args.join(" ")} failed: ${(stderr ?? "").trim().split("\n").slice(-20).join("\n") || message}`,
    );
  }
}

/** Runs `engine args` with its output streamed to ours (long builds); rejects on a non-zero exit. */
export function streamEngine(
  engine: Engine,
  args: string[],
  options: { cwd?: string; output?: (line: string) => void } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(engine, args, {
      cwd: options.cwd,
      env: engineEnv(engine),
      stdio: ["ignore", options.output ? "pipe" : "inherit", options.output ? "pipe" : "inherit"],
    });
    const tail: string[] = [];
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) {
        if (!line) continue;
        options.output?.(line);
        tail.push(line);
        if (tail.length > 30) tail.shift();
      }
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `${engine} ${args.join(" ")} failed (${signal ?? `exit ${code}`})${tail.length ? `:\n${tail.join("\n")}` : ""}`,
          ),
        );
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const engine = await resolveEngine();
    if (!engine) throw new Error("no container engine: install podman, or docker with its daemon");
    const child = spawn(engine, process.argv.slice(2), {
      env: engineEnv(engine),
      stdio: "inherit",
    });
    child.once("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
}
