// The anchor's base: a local stand-in for the official `python:3.11-slim-bookworm` image, made
// the way tools/container/base-image.ts makes our Node base, for machines that cannot reach
// Docker Hub: Debian bookworm by `debootstrap --variant=minbase` from the machine's own Debian
// mirror (as its apt sources name it), plus Debian's Python 3.11 with venv and pip's wheel, and
// what the official slim image adds to Debian (CA certificates, netbase, tzdata). Downloaded
// packages, package lists and documentation are left out, as in a slim image.
//
// `node bench/deploy/python-base.ts` prints the image reference, building it only when no image
// of the same recipe exists (the tag carries a hash of this file). Needs root and debootstrap.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { debianMirror } from "../../tools/container/base-image.ts";
import {
  type Engine,
  resolveEngine,
  runEngine,
  streamEngine,
} from "../../tools/container/engine.ts";

export const PYTHON_BASE_REPOSITORY = "localhost/house-price-bench-python-base";
/** The Debian release of the official image's tag; its python3 is 3.11. */
const SUITE = "bookworm";
const PYTHON_VERSION = "3.11";
/** python3-venv brings ensurepip's pip wheel: the anchor's Dockerfile makes a venv with pip. */
const PACKAGES = ["python3", "python3-venv", "ca-certificates", "netbase", "tzdata"];

const run = promisify(execFile);

async function sh(command: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(command, args, { maxBuffer: 64 * 1024 * 1024 });
    return stdout.trim();
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new Error(
      `${command} ${args.join(" ")} failed: ${(stderr ?? "").trim().split("\n").slice(-15).join("\n") || message}`,
    );
  }
}

/** The texts of apt's source lists, for debianMirror (read at run time: no host name is written). */
async function aptSources(): Promise<string[]> {
  const dir = "/etc/apt/sources.list.d";
  const names = (await readdir(dir).catch(() => [] as string[]))
    .filter((name) => name.endsWith(".list") || name.endsWith(".sources"))
    .sort()
    .map((name) => join(dir, name));
  const texts = await Promise.all(
    ["/etc/apt/sources.list", ...names].map((path) => readFile(path, "utf8").catch(() => "")),
  );
  return texts.filter(Boolean);
}

/** The tag of the base this file's recipe builds. */
export async function pythonBaseTag(): Promise<string> {
  const recipe = await readFile(fileURLToPath(import.meta.url), "utf8");
  const key = createHash("sha256").update(recipe).update(process.arch).digest("hex").slice(0, 12);
  return `${PYTHON_BASE_REPOSITORY}:${PYTHON_VERSION}-${SUITE}-${key}`;
}

/** The image reference of the local Python base for `engine`, built if it does not exist yet. */
export async function ensurePythonBase(
  engine: Engine,
  options: { log?: (line: string) => void } = {},
): Promise<string> {
  const log = options.log ?? ((line: string) => process.stderr.write(`python base: ${line}\n`));
  const tag = await pythonBaseTag();
  if ((await runEngine(engine, ["images", "--quiet", tag])).trim() !== "") return tag;

  const mirror = process.env.DEBIAN_MIRROR || debianMirror(await aptSources(), SUITE);
  if (!mirror) {
    throw new Error(
      `no Debian ${SUITE} mirror in /etc/apt/sources.list(.d); set DEBIAN_MIRROR to one`,
    );
  }
  const work = await mkdtemp(join(tmpdir(), "python-base-"));
  try {
    const rootfs = join(work, "rootfs");
    log(`building ${tag}: debootstrap --variant=minbase ${SUITE} with ${PACKAGES.join(", ")}`);
    await sh("debootstrap", [
      "--variant=minbase",
      `--include=${PACKAGES.join(",")}`,
      SUITE,
      rootfs,
      mirror,
    ]);
    const version = await sh("chroot", [rootfs, "python3", "--version"]);
    if (!version.startsWith(`Python ${PYTHON_VERSION}.`)) {
      throw new Error(`the base's python3 reports "${version}", expected Python ${PYTHON_VERSION}`);
    }
    for (const dir of [
      "var/cache/apt/archives",
      "var/lib/apt/lists",
      "usr/share/doc",
      "usr/share/man",
    ]) {
      await sh("find", [
        join(rootfs, dir),
        "-mindepth",
        "1",
        "-not",
        "-name",
        "partial",
        "-delete",
      ]);
    }
    const tarball = join(work, "rootfs.tar");
    await sh("tar", ["-C", rootfs, "--numeric-owner", "--exclude=./dev/*", "-cf", tarball, "."]);
    await streamEngine(
      engine,
      [
        "import",
        "--change",
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "--change",
        "ENV LANG=C.UTF-8",
        "--change",
        'CMD ["python3"]',
        tarball,
        tag,
      ],
      { output: () => {} },
    );
    log(`built ${tag} (${version})`);
    return tag;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const engine = await resolveEngine();
    if (!engine) throw new Error("no container engine: install podman, or docker with its daemon");
    process.stdout.write(`${await ensurePythonBase(engine)}\n`);
  } catch (error) {
    process.stderr.write(`python base: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
