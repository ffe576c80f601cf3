// A Python virtual environment for the tests that drive the service with Python tools (Schemathesis,
// MLflow's client), installed from the pinned test/requirements.txt. It is built once in a temp
// folder beside its final place and renamed there when complete, so an interrupted install never
// leaves a half-built environment behind; later runs reuse it while the requirements and the
// Python version are unchanged (their sha256 is stored inside it).
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
/** The pinned requirements of the Python-driven tests. */
export const TEST_REQUIREMENTS = join(REPO, "test", "requirements.txt");
/** Where the environment lives (gitignored); TEST_VENV moves it, e.g. to a cache shared by clones. */
export const TEST_VENV_DIR = process.env.TEST_VENV ?? join(REPO, ".venv-test");
const STAMP = "requirements.sha256";

export interface PythonFound {
  /** The interpreter that creates the environment, e.g. python3. */
  python: string;
  /** e.g. 3.11.7 */
  version: string;
}

/**
 * The Python 3.11+ with venv and pip that can build the environment, or the reason there is none.
 * PYTHON names the interpreter (default python3).
 */
export function findPython(): PythonFound | { missing: string } {
  const python = process.env.PYTHON ?? "python3";
  // pip 22.3+ installs into another environment (--python), so the environment needs no pip of
  // its own: creating one with ensurepip takes some 20 s, without it under one.
  const probe = spawnSync(
    python,
    [
      "-c",
      [
        "import sys, venv, pip",
        "print('%d.%d.%d' % sys.version_info[:3], 'pip', pip.__version__)",
        "sys.exit(sys.version_info < (3, 11) or tuple(map(int, pip.__version__.split('.')[:2])) < (22, 3))",
      ].join("; "),
    ],
    { encoding: "utf8" },
  );
  if (probe.error) return { missing: `${python} is not installed (${probe.error.message})` };
  if (probe.status !== 0) {
    const found = probe.stdout.trim() || probe.stderr.trim().split("\n").at(-1);
    return {
      missing: `${python} cannot build the test environment: Python 3.11+ (the pinned pandas and numpy need it) with venv and pip 22.3+ is needed; found ${found}`,
    };
  }
  return { python, version: probe.stdout.trim().split(" ")[0] };
}

/** The interpreter of the environment. */
export function venvPython(dir = TEST_VENV_DIR): string {
  return join(dir, "bin", "python");
}

function run(command: string, args: string[], log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: "1", PIP_NO_INPUT: "1" },
    });
    let tail: string[] = [];
    const forward = (chunk: Buffer) => {
      for (const line of chunk.toString().split(/\r?\n/)) {
        if (line.trim() === "") continue;
        log(line);
        tail = [...tail.slice(-19), line];
      }
    };
    child.stdout.on("data", forward);
    child.stderr.on("data", forward);
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve();
      else
        reject(new Error(`${command} ${args.join(" ")} exited with ${code}:\n${tail.join("\n")}`));
    });
  });
}

/**
 * Creates the environment from `requirements` unless one with the same requirements and Python is
 * already at `dir`; prints its progress (pip's output) through `log`. Returns its interpreter.
 */
export async function ensureTestVenv(
  options: { dir?: string; requirements?: string; log?: (line: string) => void } = {},
): Promise<{ python: string; reused: boolean }> {
  const dir = options.dir ?? TEST_VENV_DIR;
  const requirements = options.requirements ?? TEST_REQUIREMENTS;
  const log = options.log ?? ((line: string) => process.stderr.write(`[test venv] ${line}\n`));
  const found = findPython();
  if ("missing" in found) throw new Error(found.missing);
  const wanted = createHash("sha256")
    .update(await readFile(requirements))
    .update(`\0${found.version}`)
    .digest("hex");
  const stamp = await readFile(join(dir, STAMP), "utf8").catch(() => null);
  if (stamp?.trim() === wanted && existsSync(venvPython(dir))) {
    return { python: venvPython(dir), reused: true };
  }

  const building = `${dir}.tmp-${process.pid}-${Date.now()}`;
  log(
    `creating ${dir} from ${requirements} (Python ${found.version}); the first time takes minutes`,
  );
  try {
    await run(found.python, ["-m", "venv", "--without-pip", building], log);
    // The base interpreter's pip installs into the new environment. Wheels only: nothing is
    // compiled; progress bars are noise in a test log, pip's line per package says enough.
    await run(
      found.python,
      [
        ...["-m", "pip", "--python", venvPython(building), "install"],
        ...["--progress-bar", "off", "--only-binary", ":all:", "-r", requirements],
      ],
      log,
    );
    await writeFile(join(building, STAMP), `${wanted}\n`);
    // The environment is used through `bin/python -m ...` only: its console scripts keep the
    // temp path in their first line, but its interpreter finds its packages from where it is.
    await rm(dir, { recursive: true, force: true });
    await rename(building, dir);
  } catch (error) {
    await rm(building, { recursive: true, force: true });
    throw error;
  }
  log(`ready: ${dir}`);
  return { python: venvPython(dir), reused: false };
}
