import type { RegressionMetrics } from "./bundle.ts";

/** RMSE, MAE and R² of predictions against the truth. */
export function regressionMetrics(truth: Float64Array, predicted: Float64Array): RegressionMetrics {
  const n = truth.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += truth[i];
  mean /= n;
  let squared = 0;
  let absolute = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const error = predicted[i] - truth[i];
    squared += error * error;
    absolute += Math.abs(error);
    total += (truth[i] - mean) ** 2;
  }
  return {
    rmse: Math.sqrt(squared / n),
    mae: absolute / n,
    r2: total === 0 ? 0 : 1 - squared / total,
  };
}
