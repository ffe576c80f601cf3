// Whether the data benchmark's engines did the same work: a ratio between two engines means
// something only when both read, kept and quarantined the same rows and split them alike.

/** What each engine reports having done with the file. */
export interface EngineCounts {
  read: number;
  kept: number;
  quarantined: number;
  /** The median that filled the missing total_bedrooms. */
  median: number;
  train: number;
  test: number;
}

/**
 * How far an engine's test set may stray from `kept × testFraction`, in standard deviations of
 * the binomial: each engine hashes rows with its own hash function, so the split sizes agree
 * only statistically. Five sigma is about 2,800 rows of 2 million; a broken split is far off.
 */
export const SPLIT_SIGMAS = 5;

/**
 * The ways the engines disagree, naming the engine and the numbers; empty when they agree. The
 * first engine is the reference the others must match exactly (rows read, kept, quarantined and
 * the imputed median), and every engine's split must add up and be near the test fraction.
 */
export function countDisagreements(
  engines: Record<string, EngineCounts>,
  testFraction: number,
): string[] {
  const problems: string[] = [];
  const entries = Object.entries(engines);
  if (entries.length === 0) return problems;
  const [referenceName, reference] = entries[0];
  for (const [name, counts] of entries) {
    if (counts.kept + counts.quarantined !== counts.read) {
      problems.push(
        `${name}: kept ${counts.kept} + quarantined ${counts.quarantined} is not the ${counts.read} rows read`,
      );
    }
    if (counts.train + counts.test !== counts.kept) {
      problems.push(
        `${name}: train ${counts.train} + test ${counts.test} is not the ${counts.kept} rows kept`,
      );
    }
    const expected = counts.kept * testFraction;
    const sigma = Math.sqrt(counts.kept * testFraction * (1 - testFraction));
    if (Math.abs(counts.test - expected) > SPLIT_SIGMAS * sigma) {
      problems.push(
        `${name}: ${counts.test} test rows of ${counts.kept}; expected about ${Math.round(expected)} (± ${Math.ceil(SPLIT_SIGMAS * sigma)}) for a test fraction of ${testFraction}`,
      );
    }
    if (name === referenceName) continue;
    for (const key of ["read", "kept", "quarantined"] as const) {
      if (counts[key] !== reference[key]) {
        problems.push(
          `${name}: ${key} ${counts[key]} rows, but ${referenceName} ${key} ${reference[key]}`,
        );
      }
    }
    if (!(Math.abs(counts.median - reference.median) <= 1e-9 * Math.abs(reference.median))) {
      problems.push(
        `${name}: imputed total_bedrooms with ${counts.median}, but ${referenceName} with ${reference.median}`,
      );
    }
  }
  return problems;
}
