// Types of shared.js for the generator and the tests (the browser runs shared.js as it is).

/** `[atMs, version or null, sinceMs]`: from `atMs` on, `version` holds the stage (since `sinceMs`). */
export type StageChange = [number, string | null, number];

export interface GateRule {
  name: string;
  passed: boolean;
  detail: string;
}

export function formatMoney(value: unknown): string;
export function formatR2(value: unknown): string;
export function formatDelta(value: unknown, kind?: "money" | "r2"): string;
export function formatPercentDelta(a: unknown, b: unknown): string;
export function formatTime(value: string | number): string;
export function holderAt(
  changes: StageChange[],
  at: number,
): { version: string; since: number } | null;
export function gateRules(
  candidateRmse: number | null,
  production: { version: string; rmse: number } | null,
  thresholds: { rmseThreshold: number; tolerance: number } | null,
): GateRule[];
