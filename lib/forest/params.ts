// Random-forest hyper-parameters: the one typed object every caller passes, validated up front.

export interface ForestParams {
  /** Number of trees (>= 1). */
  nEstimators: number;
  /** Maximum tree depth; null grows every tree until its leaves are pure or too small. */
  maxDepth: number | null;
  /** A node with fewer distinct samples than this becomes a leaf (>= 2). */
  minSamplesSplit: number;
  /** Each child of a split keeps at least this many distinct samples (>= 1). */
  minSamplesLeaf: number;
  /** Features tried at each split: a fraction in (0, 1] of all features, or "sqrt". */
  maxFeatures: number | "sqrt";
  /** Histogram bins per feature (2..65536); quantile bin edges are computed once per training. */
  maxBins: number;
  /** Seed of every random choice; tree t draws only from the stream of (seed, t). */
  seed: number;
}

export const DEFAULT_FOREST_PARAMS: ForestParams = {
  nEstimators: 100,
  maxDepth: null,
  minSamplesSplit: 2,
  minSamplesLeaf: 1,
  maxFeatures: 1,
  maxBins: 255,
  seed: 42,
};

const PARAM_NAMES = Object.keys(DEFAULT_FOREST_PARAMS) as (keyof ForestParams)[];

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || value === null) {
    return String(value);
  }
  if (value === undefined) return "undefined";
  return JSON.stringify(value) ?? String(value);
}

function reject(name: string, value: unknown, expected: string): never {
  throw new Error(`${name}: ${describe(value)} is not allowed; expected ${expected}`);
}

function integerAtLeast(name: string, value: unknown, min: number, max = 2 ** 31 - 1): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    reject(
      name,
      value,
      max === 2 ** 31 - 1 ? `an integer >= ${min}` : `an integer in ${min}..${max}`,
    );
  }
  return value;
}

/** Validates raw params (missing ones take defaults); throws naming the param, the value and what is allowed. */
export function validateForestParams(input: Record<string, unknown>): ForestParams {
  for (const key of Object.keys(input)) {
    if (!PARAM_NAMES.includes(key as keyof ForestParams)) {
      throw new Error(`${key}: unknown forest param; expected one of ${PARAM_NAMES.join(", ")}`);
    }
  }
  const raw = { ...DEFAULT_FOREST_PARAMS, ...input } as Record<keyof ForestParams, unknown>;
  const maxDepth = raw.maxDepth === null ? null : integerAtLeast("maxDepth", raw.maxDepth, 1);
  const maxFeatures = raw.maxFeatures;
  if (
    maxFeatures !== "sqrt" &&
    !(typeof maxFeatures === "number" && maxFeatures > 0 && maxFeatures <= 1)
  ) {
    reject("maxFeatures", maxFeatures, 'a fraction in (0, 1] or "sqrt"');
  }
  return {
    nEstimators: integerAtLeast("nEstimators", raw.nEstimators, 1),
    maxDepth,
    minSamplesSplit: integerAtLeast("minSamplesSplit", raw.minSamplesSplit, 2),
    minSamplesLeaf: integerAtLeast("minSamplesLeaf", raw.minSamplesLeaf, 1),
    maxFeatures,
    maxBins: integerAtLeast("maxBins", raw.maxBins, 2, 65_536),
    seed: integerAtLeast("seed", raw.seed, 0, 2 ** 32 - 1),
  };
}

/** How many features each split tries, like sklearn: max(1, floor(fraction * nFeatures)). */
export function featuresPerSplit(params: ForestParams, nFeatures: number): number {
  const count =
    params.maxFeatures === "sqrt"
      ? Math.floor(Math.sqrt(nFeatures))
      : Math.floor(params.maxFeatures * nFeatures);
  return Math.min(nFeatures, Math.max(1, count));
}
