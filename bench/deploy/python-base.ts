import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { debootstrap, printImage, sh, slimTarball } from "../../tools/container/base-image.ts";
import { type Engine, runEngine, streamEngine } from "../../tools/container/engine.ts";

export const PYTHON_BASE_REPOSITORY = "localhost/house-price-bench-python-base";
/** The Debian release of the official image's tag; its python3 is 3.11. */
const SUITE = "bookworm";
const PYTHON_VERSION = "3.11";
/** python3-venv brings ensurepip's pip wheel: the anchor's Dockerfile makes a venv with pip. */
const PACKAGES = ["python3", "python3-venv", "ca-certificates", "netbase", "tzdata"];

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

  const work = await mkdtemp(join(tmpdir(), "python-base-"));
  try {
    const rootfs = join(work, "rootfs");
    log(`building ${tag}`);
    await debootstrap(rootfs, SUITE, PACKAGES, log);
    const version = await sh("chroot", [rootfs, "python3", "--version"]);
    if (!version.startsWith(`Python ${PYTHON_VERSION}.`)) {
      throw new Error(`the base's python3 reports "${version}", expected Python ${PYTHON_VERSION}`);
    }
    const tarball = await slimTarball(rootfs, work);
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
  await printImage("python base", ensurePythonBase);
}
