// The deploy bench's arithmetic, kept apart from the containers so it can be tested alone.

/**
 * Milliseconds since the epoch with sub-millisecond resolution: comparable between processes
 * (the load runs in its own), unlike performance.now() alone.
 */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** One production change: the version assigned and when (epochMs()). */
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

/**
 * A time the engine prints for a container (`inspect --format {{.State.StartedAt}}`) as epoch
 * ms: podman's `2026-11-30 10:12:37.862837439 +0000 UTC` or docker's RFC 3339
 * `2026-11-30T10:12:37.862837439Z`.
 */
export function parseEngineTime(text: string): number {
  const match = /^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d+))?\s*(Z|[+-]\d\d:?\d\d)?/.exec(
    text.trim(),
  );
  if (!match) throw new Error(`"${text.trim()}" is not a time the engine prints`);
  const [, date, clock, fraction = "0", zone = "Z"] = match;
  const offset = zone === "Z" ? "Z" : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  const ms = Date.parse(`${date}T${clock}${offset}`);
  return ms + Number(`0.${fraction}`) * 1000;
}

/** A structured log line of the service (log.ts): its time as epoch ms, message and fields. */
export interface LogEntry {
  at: number;
  msg: string;
  fields: Record<string, unknown>;
}

/** The service's JSON log lines in `logs`, in order; other lines (the engine's) are skipped. */
export function logEntries(logs: string): LogEntry[] {
  const entries: LogEntry[] = [];
  for (const line of logs.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const fields = JSON.parse(line) as Record<string, unknown>;
      if (typeof fields.time === "string" && typeof fields.msg === "string") {
        entries.push({ at: Date.parse(fields.time), msg: fields.msg, fields });
      }
    } catch {
      // Not one of the service's lines.
    }
  }
  return entries;
}
