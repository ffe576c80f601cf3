// The deploy bench's arithmetic, kept apart from the containers so it can be tested alone.

/** One production change: the version assigned and when (performance.now() ms). */
export interface ProductionChange {
  version: string;
  assignedAt: number;
}

/**
 * Seconds from each assignment to the first answer carrying its version. Every change must name
 * a version not served before it (the bench registers a new version per change), so the first
 * answer with that version is the swap; an answer before the assignment, or none, is an error.
 */
export function swapSeconds(
  changes: readonly ProductionChange[],
  firstSeen: ReadonlyMap<string, number>,
): number[] {
  return changes.map(({ version, assignedAt }, index) => {
    const seen = firstSeen.get(version);
    if (seen === undefined) {
      throw new Error(`change ${index + 1}: no answer carried ${version}`);
    }
    if (seen < assignedAt) {
      throw new Error(
        `change ${index + 1}: ${version} was served ${((assignedAt - seen) / 1000).toFixed(3)} s before it was assigned; each change needs a version not served before`,
      );
    }
    return (seen - assignedAt) / 1000;
  });
}

/** The median of `values` (the mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** What autocannon reports about answered and unanswered requests. */
export interface AutocannonCounts {
  requests: { sent: number; total: number };
  non2xx: number;
  errors: number;
}

/**
 * Requests that failed: answers outside 2xx, socket errors and timeouts, and requests sent but
 * never answered beyond the one per connection still in flight when the load stopped (autocannon
 * reconnects after a connection the server closed without counting an error; bench/serve.ts
 * counts the same way).
 */
export function failedRequests(counts: AutocannonCounts, connections: number): number {
  const unanswered = Math.max(0, counts.requests.sent - counts.requests.total - connections);
  return counts.non2xx + counts.errors + unanswered;
}

/** A value rounded to `digits` decimals, or null when it is not a finite number. */
export function rounded(value: number | null | undefined, digits = 2): number | null {
  return value !== null && value !== undefined && Number.isFinite(value)
    ? Number(value.toFixed(digits))
    : null;
}
