// The benchmarks' Python: a virtual environment in .bench/venv with bench/requirements.txt
// installed, made by the bench itself on first use so that `npm run bench -- <name>` needs no
// manual install. It is reused until requirements.txt changes (its sha256 is the stamp).
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { $ } from "zx";
import { sha256 } from "../../lib/io/files.ts";
import { REPO } from "./paths.ts";

const VENV = join(REPO, ".bench", "venv");
const REQUIREMENTS = join(REPO, "bench", "requirements.txt");
/** Written last, so a venv whose install was cut short is made again on the next run. */
const STAMP = join(VENV, "bench-requirements.sha256");
const MINIMUM = [3, 11] as const;

export interface BenchPython {
  /** The venv's python executable. */
  python: string;
  /** Installed version of every package requirements.txt names, e.g. {"pandas": "3.1.1"}. */
  versions: Record<string, string>;
}

/** The package names requirements.txt pins, in its order. */
export function pinnedPackages(requirements: string): string[] {
  return requirements
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter((line) => line !== "")
    .map((line) => {
      const match = /^([A-Za-z0-9._-]+)==\S+$/.exec(line);
      if (!match) throw new Error(`${REQUIREMENTS}: "${line}" is not pinned as name==version`);
      return match[1];
    });
}

/** The bench's Python with the pinned peers installed, made (with progress shown) when needed. */
export async function benchPython(): Promise<BenchPython> {
  const requirements = await readFile(REQUIREMENTS, "utf8");
  const wanted = sha256(requirements);
  const python = join(VENV, "bin", "python");
  const stamp = await readFile(STAMP, "utf8").catch(() => "");
  const usable =
    stamp.trim() === wanted && (await $({ nothrow: true, quiet: true })`${python} -c ''`).ok;
  if (!usable) await createVenv(python, wanted);
  const versions = await installedVersions(python, pinnedPackages(requirements));
  console.error(
    `bench: Python peers from .bench/venv: ${Object.entries(versions)
      .map(([name, version]) => `${name} ${version}`)
      .join(", ")}`,
  );
  return { python, versions };
}

async function createVenv(python: string, requirementsSha256: string): Promise<void> {
  const base = await basePython();
  console.error(
    `bench: installing the Python peers of bench/requirements.txt into .bench/venv with ${base.command} (Python ${base.version}).\n` +
      "bench: this happens once (and again when requirements.txt changes): about 700 MB, a few minutes.",
  );
  await rm(VENV, { recursive: true, force: true });
  // The child's output goes to our stderr (fd 2), so pip's progress shows while stdout stays
  // for the result; pip draws its progress bars when fd 2 is a terminal.
  const shown = $({ stdio: ["ignore", 2, 2] });
  await shown`${base.command} -m venv ${VENV}`;
  await shown`${python} -m pip install --disable-pip-version-check --upgrade pip`;
  await shown`${python} -m pip install --disable-pip-version-check -r ${REQUIREMENTS}`;
  await writeFile(STAMP, `${requirementsSha256}\n`);
  console.error("bench: .bench/venv is ready");
}

/** The first of BENCH_PYTHON, python3, python3.13 … python3.11 that is recent enough and has venv. */
async function basePython(): Promise<{ command: string; version: string }> {
  const candidates = [
    ...(process.env.BENCH_PYTHON ? [process.env.BENCH_PYTHON] : []),
    "python3",
    "python3.13",
    "python3.12",
    "python3.11",
  ];
  const probe = `import sys, venv; print("%d.%d.%d" % sys.version_info[:3])`;
  const found: string[] = [];
  for (const command of candidates) {
    const run = await $({ nothrow: true, quiet: true })`${command} -c ${probe}`;
    if (!run.ok) continue;
    const version = run.stdout.trim();
    const [major, minor] = version.split(".").map(Number);
    if (major > MINIMUM[0] || (major === MINIMUM[0] && minor >= MINIMUM[1])) {
      return { command, version };
    }
    found.push(`${command} is ${version}`);
  }
  throw new Error(
    [
      `no Python ${MINIMUM.join(".")} or newer with the venv module found (tried ${candidates.join(", ")}${found.length ? `; ${found.join(", ")}` : ""}).`,
      "Install one (Debian: apt-get install python3 python3-venv) or point BENCH_PYTHON at it,",
      "or pass --skip-peers to time our side alone.",
    ].join("\n"),
  );
}

async function installedVersions(python: string, names: string[]): Promise<Record<string, string>> {
  const script = [
    "import importlib.metadata as m, json, sys",
    "print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))",
  ].join("\n");
  const run = await $({ quiet: true })`${python} -c ${script} ${names}`;
  return JSON.parse(run.stdout) as Record<string, string>;
}
