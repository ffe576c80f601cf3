// Float32 helpers shared by binning.ts and predict.ts (lib/forest/walk.ts has the same in
// JavaScript).

/** The float32 neighbour of a float32 value, one ulp up or down (±0 steps to ± the smallest subnormal). */
export function stepFloat32(value: f32, up: bool): f32 {
  if (value === 0) return up ? reinterpret<f32>(1) : -reinterpret<f32>(1);
  return reinterpret<f32>(reinterpret<i32>(value) + (value > 0 === up ? 1 : -1));
}

/**
 * The walk key of a value: the least float32 at or above it, so that for any float32 threshold t,
 * value <= t exactly when key <= t. NaN, which goes right at every split, becomes +Infinity,
 * which does too (thresholds are finite).
 */
export function keyOf(value: f64): f32 {
  if (Number.isNaN(value)) return Infinity;
  const rounded = <f32>value;
  return <f64>rounded < value ? stepFloat32(rounded, true) : rounded;
}
