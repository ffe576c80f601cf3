// What the site's generator (Node) and its pages (the browser) must agree on, written once: number
// and date formats, "which version held a stage at T" over the generated change list, and the
// evaluation gate's rules as the compare page applies them. Plain JavaScript, so that browsers run
// it as it is; shared.d.ts gives the generator its types.

const money = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** A price or price error: `51,234`; an en dash when unknown. */
export function formatMoney(value) {
  return typeof value === "number" && Number.isFinite(value) ? money.format(value) : "–";
}

/** R²: four decimals; an en dash when unknown. */
export function formatR2(value) {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(4) : "–";
}

/** A signed difference: `+1,234` or `−1,234` (R²: four decimals). */
export function formatDelta(value, kind) {
  if (typeof value !== "number" || !Number.isFinite(value)) return "–";
  const text = kind === "r2" ? Math.abs(value).toFixed(4) : money.format(Math.abs(value));
  if (text === "0" || Number(text) === 0) return kind === "r2" ? "0.0000" : "0";
  return `${value < 0 ? "−" : "+"}${text}`;
}

/** A relative difference `(b - a) / a` as `+1.2%`; an en dash when it cannot be computed. */
export function formatPercentDelta(a, b) {
  if (typeof a !== "number" || typeof b !== "number" || !Number.isFinite(a) || a === 0) return "–";
  const share = ((b - a) / Math.abs(a)) * 100;
  if (!Number.isFinite(share)) return "–";
  const text = Math.abs(share).toFixed(1);
  return Number(text) === 0 ? "0.0%" : `${share < 0 ? "−" : "+"}${text}%`;
}

/** A time as `2025-01-02 10:00:00 UTC` (the registry's times are UTC). */
export function formatTime(value) {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return "–";
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/**
 * Which version held a stage at `at` (milliseconds), from the stage's changes: `[atMs, version or
 * null, sinceMs]` in time order, as the generator derives them from the registry's events. Null
 * before the first assignment and while nobody held the stage.
 */
export function holderAt(changes, at) {
  let low = 0;
  let high = changes.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (changes[middle][0] <= at) {
      found = middle;
      low = middle + 1;
    } else high = middle - 1;
  }
  if (found < 0 || changes[found][1] === null) return null;
  return { version: changes[found][1], since: changes[found][2] };
}

/**
 * The evaluation gate's rules for `candidate` against `production` (either may be null when
 * unknown): hold-out RMSE at most the threshold, and not worse than production's by more than the
 * tolerance. The same rules as the evaluate stage's `applyGate`, which a test holds them to.
 */
export function gateRules(candidateRmse, production, thresholds) {
  const rules = [];
  if (typeof candidateRmse !== "number" || !thresholds) return rules;
  rules.push({
    name: `RMSE <= ${thresholds.rmseThreshold}`,
    passed: candidateRmse <= thresholds.rmseThreshold,
    detail: `candidate RMSE ${candidateRmse.toFixed(0)} ${candidateRmse <= thresholds.rmseThreshold ? "<=" : ">"} threshold ${thresholds.rmseThreshold}`,
  });
  if (production && typeof production.rmse === "number") {
    const limit = production.rmse * (1 + thresholds.tolerance);
    rules.push({
      name: `not worse than production by more than ${(thresholds.tolerance * 100).toFixed(1)}%`,
      passed: candidateRmse <= limit,
      detail: `candidate RMSE ${candidateRmse.toFixed(0)} vs production ${production.version} RMSE ${production.rmse.toFixed(0)} (limit ${limit.toFixed(0)})`,
    });
  }
  return rules;
}
