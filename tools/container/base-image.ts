// A local stand-in for the official Node image, for machines that cannot reach Docker Hub:
// Debian (debootstrap --variant=minbase, from the machine's own Debian mirror as its apt sources
// name it), the Node binary from the npm registry's node-linux-<arch> package (what the `node`
// package installs), npm from the `npm` package, and a `node` user with uid 1000, as in the
// official image. The Node version and Debian release are read from deploy/Dockerfile's
// NODE_IMAGE default, so the stand-in follows the official pin.
//
// `node tools/container/base-image.ts` prints the image reference, building it only when no image
// of the same inputs exists (the tag carries a hash of them: this file, the versions, the
// architecture). Needs root and debootstrap; `CONTAINER_ENGINE` picks the engine (engine.ts).
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { imageFacts } from "./dockerfile.ts";
import { type Engine, resolveEngine, runEngine, streamEngine } from "./engine.ts";

export const BASE_IMAGE_REPOSITORY = "localhost/house-price-node-base";
/** The npm that Node 24.21.0 bundles (its changelog: "deps: upgrade npm to 11.19.0" in 24.20.0). */
export const NPM_VERSION = "11.19.0";

const run = promisify(execFile);

export interface BaseImageInputs {
  /** Exact Node version, e.g. 24.21.0. */
  nodeVersion: string;
  /** Debian release of the official image's tag, e.g. bookworm. */
  suite: string;
  npmVersion: string;
  /** Node's name for the CPU (x64, arm64), as in the node-linux-<arch> package. */
  arch: string;
}

/** The Node version and Debian release a `node:<version>-<release>-slim` reference names. */
export function baseImageInputs(nodeImage: string, arch = process.arch): BaseImageInputs {
  const match = nodeImage.match(/^node:(\d+\.\d+\.\d+)-([a-z]+)-slim(@sha256:[0-9a-f]{64})?$/);
  if (!match) {
    throw new Error(
      `NODE_IMAGE: "${nodeImage}" is not of the form node:<x.y.z>-<debian release>-slim[@sha256:…]`,
    );
  }
  return { nodeVersion: match[1], suite: match[2], npmVersion: NPM_VERSION, arch };
}

/**
 * The Debian mirror of `suite` in apt's sources: deb822 files (`URIs:`/`Suites:`) and one-line
 * `deb URI suite …` entries. Read at run time, so no host name is written down anywhere.
 */
export function debianMirror(sources: string[], suite: string): string | null {
  for (const text of sources) {
    for (const stanza of text.split(/\n\s*\n/)) {
      const field = (name: string) =>
        stanza
          .match(new RegExp(`^${name}:\\s*(.+)$`, "mi"))?.[1]
          .trim()
          .split(/\s+/) ?? [];
      const types = field("Types");
      if (types.includes("deb") && field("Suites").includes(suite)) {
        const [uri] = field("URIs");
        if (uri) return uri;
      }
    }
    for (const line of text.split("\n")) {
      const words = line
        .replace(/#.*/, "")
        .replace(/\[[^\]]*\]/, "")
        .trim()
        .split(/\s+/);
      if (words[0] === "deb" && words[2] === suite) return words[1];
    }
  }
  return null;
}

async function aptSources(): Promise<string[]> {
  const texts: string[] = [];
  const read = (path: string) =>
    readFile(path, "utf8").then(
      (text) => texts.push(text),
      () => 0,
    );
  await read("/etc/apt/sources.list");
  const dir = "/etc/apt/sources.list.d";
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names.sort()) {
    if (name.endsWith(".list") || name.endsWith(".sources")) await read(join(dir, name));
  }
  return texts;
}

/** The tag of the base image built from `inputs` by this file's recipe. */
export async function baseImageTag(inputs: BaseImageInputs): Promise<string> {
  const recipe = await readFile(fileURLToPath(import.meta.url), "utf8");
  const key = createHash("sha256")
    .update(recipe)
    .update(JSON.stringify(inputs))
    .digest("hex")
    .slice(0, 12);
  return `${BASE_IMAGE_REPOSITORY}:${inputs.nodeVersion}-${inputs.suite}-${key}`;
}

/** Runs `command`; its stdout, or an error with the end of its stderr. */
export async function sh(command: string, args: string[], cwd?: string): Promise<string> {
  try {
    const { stdout } = await run(command, args, { cwd, maxBuffer: 64 * 1024 * 1024 });
    return stdout.trim();
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new Error(
      `${command} ${args.join(" ")} failed: ${(stderr ?? "").trim().split("\n").slice(-15).join("\n") || message}`,
    );
  }
}

/** Downloads `spec` from the npm registry into `dir` with `npm pack`; returns the tarball path. */
async function npmPack(spec: string, dir: string): Promise<string> {
  const out = await sh("npm", ["pack", spec, "--pack-destination", dir, "--json"]);
  const [{ filename }] = JSON.parse(out) as { filename: string }[];
  return join(dir, filename);
}

/** Builds the root file system in `work`/rootfs and returns a tarball of it. */
async function buildRootfs(
  inputs: BaseImageInputs,
  work: string,
  log: (line: string) => void,
): Promise<string> {
  const rootfs = join(work, "rootfs");
  await debootstrap(rootfs, inputs.suite, [], log);

  log(`node-linux-${inputs.arch}@${inputs.nodeVersion} and npm@${inputs.npmVersion}`);
  const nodeTarball = await npmPack(`node-linux-${inputs.arch}@${inputs.nodeVersion}`, work);
  await sh("tar", [
    "-xzf",
    nodeTarball,
    "-C",
    join(rootfs, "usr/local/bin"),
    "--strip-components=2",
    "package/bin/node",
  ]);
  const npmDir = join(rootfs, "usr/local/lib/node_modules/npm");
  await sh("mkdir", ["-p", npmDir]);
  await sh("tar", [
    "-xzf",
    await npmPack(`npm@${inputs.npmVersion}`, work),
    "-C",
    npmDir,
    "--strip-components=1",
  ]);
  // The official image's layout: npm and npx on PATH as links into the npm package.
  await sh("ln", [
    "-s",
    "../lib/node_modules/npm/bin/npm-cli.js",
    join(rootfs, "usr/local/bin/npm"),
  ]);
  await sh("ln", [
    "-s",
    "../lib/node_modules/npm/bin/npx-cli.js",
    join(rootfs, "usr/local/bin/npx"),
  ]);

  // The official image's user, with the same ids.
  await sh("chroot", [rootfs, "groupadd", "--gid", "1000", "node"]);
  await sh("chroot", [
    rootfs,
    "useradd",
    "--uid",
    "1000",
    "--gid",
    "node",
    "--shell",
    "/bin/bash",
    "--create-home",
    "node",
  ]);
  const version = await sh("chroot", [rootfs, "/usr/local/bin/node", "--version"]);
  if (version !== `v${inputs.nodeVersion}`) {
    throw new Error(`the base's node reports ${version}, expected v${inputs.nodeVersion}`);
  }
  const npm = await sh("chroot", [
    rootfs,
    "/usr/local/bin/node",
    "/usr/local/bin/npm",
    "--version",
  ]);
  if (npm !== inputs.npmVersion) {
    throw new Error(`the base's npm reports ${npm}, expected ${inputs.npmVersion}`);
  }

  return slimTarball(rootfs, work);
}

/**
 * Debian `suite` by `debootstrap --variant=minbase` (with `packages`) into `rootfs`, from the
 * machine's own Debian mirror as its apt sources name it (or DEBIAN_MIRROR).
 */
export async function debootstrap(
  rootfs: string,
  suite: string,
  packages: string[],
  log: (line: string) => void,
): Promise<void> {
  const mirror = process.env.DEBIAN_MIRROR || debianMirror(await aptSources(), suite);
  if (!mirror) {
    throw new Error(
      `no Debian ${suite} mirror in /etc/apt/sources.list(.d); set DEBIAN_MIRROR to one`,
    );
  }
  const include = packages.length ? [`--include=${packages.join(",")}`] : [];
  log(`debootstrap --variant=minbase ${suite} (the apt sources' mirror) ${packages.join(", ")}`);
  await sh("debootstrap", ["--variant=minbase", ...include, suite, rootfs, mirror]);
}

/** Leaves out what a slim image does (downloaded packages, package lists, documentation) and
 * returns a tarball of `rootfs` in `work`, ready for the engine's `import`. */
export async function slimTarball(rootfs: string, work: string): Promise<string> {
  for (const dir of [
    "var/cache/apt/archives",
    "var/lib/apt/lists",
    "usr/share/doc",
    "usr/share/man",
  ]) {
    await sh("find", [join(rootfs, dir), "-mindepth", "1", "-not", "-name", "partial", "-delete"]);
  }
  const tarball = join(work, "rootfs.tar");
  // Device nodes are the engine's business, not the image's.
  await sh("tar", ["-C", rootfs, "--numeric-owner", "--exclude=./dev/*", "-cf", tarball, "."]);
  return tarball;
}

/** The entry of a script that prints the image `ensure` makes (building it when missing). */
export async function printImage(label: string, ensure: (engine: Engine) => Promise<string>) {
  try {
    const engine = await resolveEngine();
    if (!engine) throw new Error("no container engine: install podman, or docker with its daemon");
    process.stdout.write(`${await ensure(engine)}\n`);
  } catch (error) {
    process.stderr.write(`${label}: ${(error as Error).message}\n`);
    process.exit(1);
  }
}

/** The image reference of the local Node base for `engine`, built if it does not exist yet. */
export async function ensureBaseImage(
  engine: Engine,
  options: { log?: (line: string) => void } = {},
): Promise<string> {
  const log = options.log ?? ((line: string) => process.stderr.write(`base image: ${line}\n`));
  const inputs = baseImageInputs(imageFacts().nodeImage);
  const tag = await baseImageTag(inputs);
  const existing = await runEngine(engine, ["images", "--quiet", tag]);
  if (existing.trim() !== "") return tag;

  log(`building ${tag}`);
  const work = await mkdtemp(join(tmpdir(), "node-base-"));
  try {
    const tarball = await buildRootfs(inputs, work, log);
    await streamEngine(
      engine,
      [
        "import",
        "--change",
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "--change",
        `ENV NODE_VERSION=${inputs.nodeVersion}`,
        "--change",
        'CMD ["node"]',
        tarball,
        tag,
      ],
      { output: () => {} },
    );
    log(`built ${tag}`);
    return tag;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await printImage("base image", ensureBaseImage);
}
