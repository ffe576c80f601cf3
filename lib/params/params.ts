// The pipeline's parameters: one committed file (params.json), overridable from the command
// line and workflow_dispatch inputs, validated before any work starts.
import { readFile } from "node:fs/promises";
import { text } from "../cli/settings.ts";
import { type ForestParams, validateForestParams } from "../forest/params.ts";

export const DEFAULT_PARAMS_FILE = "params.json";
export const ENGINES = ["forest", "ml-random-forest"] as const;
export type Engine = (typeof ENGINES)[number];

export interface PipelineParams {
  ingest: { maxQuarantineShare: number };
  features: { testFraction: number; seed: number };
  train: ForestParams & { engine: Engine };
  evaluate: { rmseThreshold: number; tolerance: number };
}

/** Short names for the params people change most, as CLI flags and workflow inputs. */
export const PARAM_ALIASES: Record<string, string> = {
  trees: "train.nEstimators",
  "max-depth": "train.maxDepth",
  "min-samples-split": "train.minSamplesSplit",
  "min-samples-leaf": "train.minSamplesLeaf",
  "max-features": "train.maxFeatures",
  "max-bins": "train.maxBins",
  engine: "train.engine",
  "train-seed": "train.seed",
  threshold: "evaluate.rmseThreshold",
  tolerance: "evaluate.tolerance",
  "test-fraction": "features.testFraction",
  "split-seed": "features.seed",
  "max-quarantine": "ingest.maxQuarantineShare",
};

const SECTIONS = ["ingest", "features", "train", "evaluate"];

/** The params file setting of every stage that reads params. */
export const PARAMS_FILE_SETTING = text({
  description: "the pipeline's params file (JSON); the settings below override its values",
  value: "FILE",
  default: DEFAULT_PARAMS_FILE,
});

/** One override setting per alias of `sections` (e.g. `trees` for train.nEstimators): these are
 * the CLI flags and the action inputs; empty means "as params.json says". */
export function paramSettings(...sections: (keyof PipelineParams)[]) {
  return Object.fromEntries(
    Object.entries(PARAM_ALIASES)
      .filter(([, path]) => sections.includes(path.split(".")[0] as keyof PipelineParams))
      .map(([alias, path]) => [
        alias,
        text({ description: `override ${path} of the params file`, value: "VALUE" }),
      ]),
  );
}

/** The overrides among parsed settings: every alias that has a value. */
export function paramOverrides(values: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.keys(PARAM_ALIASES)
      .filter((alias) => typeof values[alias] === "string" && values[alias] !== "")
      .map((alias) => [alias, values[alias] as string]),
  );
}

class ParamError extends Error {}

/** Parses an override's text: numbers (a share may be given as `1%`), `null`, `true`/`false`,
 * else the string itself. */
function parseValue(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === "null") return null;
  if (trimmed === "true" || trimmed === "false") return trimmed === "true";
  if (trimmed !== "" && Number.isFinite(Number(trimmed))) return Number(trimmed);
  const percent = /^(.+)%$/.exec(trimmed);
  if (percent && Number.isFinite(Number(percent[1]))) return Number(percent[1]) / 100;
  return trimmed;
}

/**
 * Applies `overrides` (keys are dotted paths like `train.nEstimators` or aliases like `trees`;
 * empty values are ignored) to the raw params and validates the result.
 */
export function resolveParams(
  raw: Record<string, unknown>,
  overrides: Record<string, string | undefined> = {},
  source = DEFAULT_PARAMS_FILE,
): PipelineParams {
  const merged = structuredClone(raw) as Record<string, Record<string, unknown>>;
  for (const [key, text] of Object.entries(overrides)) {
    if (text === undefined || text.trim() === "") continue;
    const path = PARAM_ALIASES[key] ?? key;
    const [section, name, ...rest] = path.split(".");
    if (!name || rest.length > 0 || !SECTIONS.includes(section)) {
      throw new ParamError(
        `${key}: unknown param; expected section.name (sections: ${SECTIONS.join(", ")}) or one of ${Object.keys(PARAM_ALIASES).join(", ")}`,
      );
    }
    merged[section] = { ...merged[section], [name]: parseValue(text) };
  }
  return validateParams(merged, source);
}

function positive(section: string, name: string, value: unknown, max = Infinity): number {
  if (typeof value !== "number" || !(value > 0 && value <= max)) {
    const range = max === Infinity ? "a number > 0" : `a number in (0, ${max}]`;
    throw new ParamError(
      `${section}.${name}: ${JSON.stringify(value)} is not allowed; expected ${range}`,
    );
  }
  return value;
}

/** Validates every section; errors name the param, the value and what is allowed. */
export function validateParams(
  raw: Record<string, Record<string, unknown> | undefined>,
  source = DEFAULT_PARAMS_FILE,
): PipelineParams {
  const section = (name: string) => raw[name] ?? {};
  try {
    const { engine = "forest", ...forest } = section("train");
    if (!ENGINES.includes(engine as Engine)) {
      throw new ParamError(
        `train.engine: ${JSON.stringify(engine)} is not allowed; expected one of ${ENGINES.join(", ")}`,
      );
    }
    let train: ForestParams;
    try {
      train = validateForestParams(forest);
    } catch (error) {
      throw new ParamError(`train.${(error as Error).message}`);
    }
    const features = section("features");
    const splitSeed = features.seed ?? 42;
    if (!Number.isInteger(splitSeed) || (splitSeed as number) < 0) {
      throw new ParamError(
        `features.seed: ${JSON.stringify(splitSeed)} is not allowed; expected an integer >= 0`,
      );
    }
    const testFraction = positive("features", "testFraction", features.testFraction ?? 0.2, 0.99);
    const maxShare = section("ingest").maxQuarantineShare ?? 0.01;
    if (typeof maxShare !== "number" || !(maxShare >= 0 && maxShare <= 1)) {
      throw new ParamError(
        `ingest.maxQuarantineShare: ${JSON.stringify(maxShare)} is not allowed; expected a number in [0, 1]`,
      );
    }
    const evaluate = section("evaluate");
    const tolerance = evaluate.tolerance ?? 0.02;
    if (typeof tolerance !== "number" || !(tolerance >= 0 && tolerance <= 1)) {
      throw new ParamError(
        `evaluate.tolerance: ${JSON.stringify(tolerance)} is not allowed; expected a share in [0, 1] such as 0.02`,
      );
    }
    return {
      ingest: { maxQuarantineShare: maxShare },
      features: { testFraction, seed: splitSeed as number },
      train: { engine: engine as Engine, ...train },
      evaluate: {
        rmseThreshold: positive("evaluate", "rmseThreshold", evaluate.rmseThreshold ?? 55000),
        tolerance,
      },
    };
  } catch (error) {
    throw new Error(`${source}: ${(error as Error).message}`);
  }
}

/** Reads the params file and applies overrides. */
export async function loadParams(
  path = DEFAULT_PARAMS_FILE,
  overrides: Record<string, string | undefined> = {},
): Promise<PipelineParams> {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : (error as Error).message;
    throw new Error(`${path}: ${reason}; expected the pipeline's params file (JSON)`);
  }
  return resolveParams(raw, overrides, path);
}
