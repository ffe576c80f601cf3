// Builds the deploy bench's anchor: the seed-style FastAPI + scikit-learn image
// (bench/deploy/anchor.Dockerfile) with the pickled forest baked in, on python:3.11-slim or, with
// podman on these machines, on the local stand-in made by python-base.ts.
import { copyFile, link, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { FEATURES_FILES } from "../../lib/schema/features.ts";
import { type Engine, streamEngine } from "../../tools/container/engine.ts";
import { baseChoice, buildCaFile } from "../../tools/container/service-image.ts";
import { BENCH_DIR, REPO } from "../support/paths.ts";
import { FASTAPI_SERVE } from "../support/serve-data.ts";
import { ensurePythonBase } from "./python-base.ts";

export const ANCHOR_DOCKERFILE = fileURLToPath(new URL("anchor.Dockerfile", import.meta.url));
export const ANCHOR_TAG = "localhost/house-price-bench-anchor:latest";
/** The packages the anchor serves with; their versions come from bench/requirements.txt. */
const ANCHOR_PACKAGES = ["numpy", "scikit-learn", "fastapi", "uvicorn"];

/** The `name==version` lines of `requirements` for `names`; every name must be pinned there. */
export function anchorRequirements(requirements: string, names = ANCHOR_PACKAGES): string {
  const pins = new Map(
    requirements
      .split("\n")
      .map((line) => line.replace(/#.*/, "").trim())
      .map((line) => /^([A-Za-z0-9._-]+)==(\S+)$/.exec(line))
      .filter((match) => match !== null)
      .map((match) => [match[1].toLowerCase(), match[0]]),
  );
  return `${names
    .map((name) => {
      const pin = pins.get(name.toLowerCase());
      if (!pin) throw new Error(`bench/requirements.txt: ${name} is not pinned as name==version`);
      return pin;
    })
    .join("\n")}\n`;
}

/** Hard-links `from` to `to` (the pickle is large), copying when they are on different disks. */
async function place(from: string, to: string): Promise<void> {
  await link(from, to).catch(() => copyFile(from, to));
}

/**
 * Builds the anchor image from a fresh context folder holding requirements.txt, the service and
 * `model/` (the feature schema of `anchorDir` and `pickle`); returns the tag.
 */
export async function buildAnchorImage(
  engine: Engine,
  options: { anchorDir: string; pickle: string; log: (line: string) => void },
): Promise<string> {
  const context = join(BENCH_DIR, "deploy", "anchor-context");
  await rm(context, { recursive: true, force: true });
  await mkdir(join(context, "model"), { recursive: true });
  await writeFile(
    join(context, "requirements.txt"),
    anchorRequirements(await readFile(join(REPO, "bench", "requirements.txt"), "utf8")),
  );
  await copyFile(FASTAPI_SERVE, join(context, "fastapi_serve.py"));
  await copyFile(
    join(options.anchorDir, FEATURES_FILES.schema),
    join(context, "model", FEATURES_FILES.schema),
  );
  await place(options.pickle, join(context, "model", basename(options.pickle)));

  const args = ["build", "--file", ANCHOR_DOCKERFILE, "--tag", ANCHOR_TAG];
  // As service-image.ts builds ours: podman in the docker format on the host's network.
  if (engine === "podman") args.push("--format", "docker", "--network", "host");
  if (baseChoice(engine) === "local") {
    args.push(
      "--build-arg",
      `PYTHON_IMAGE=${await ensurePythonBase(engine, { log: options.log })}`,
    );
  }
  const ca = buildCaFile();
  if (ca) args.push("--secret", `id=ca,src=${ca}`);
  args.push(context);
  try {
    await streamEngine(engine, args, { output: options.log });
  } finally {
    await rm(context, { recursive: true, force: true });
  }
  return ANCHOR_TAG;
}
