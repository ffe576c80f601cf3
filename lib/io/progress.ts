/** A progress callback that prints `label: done/total unit, ETA` to stderr, throttled. */
export function progressPrinter(label: string, unit: string, stream = process.stderr) {
  const started = performance.now();
  let lastPrinted = 0;
  return (done: number, total: number) => {
    const now = performance.now();
    if (done < total && now - lastPrinted < (stream.isTTY ? 100 : 2000)) return;
    lastPrinted = now;
    const elapsed = (now - started) / 1000;
    const eta = done > 0 ? (elapsed / done) * (total - done) : Number.NaN;
    const text = `${label}: ${done}/${total} ${unit}, ${elapsed.toFixed(1)} s elapsed${done < total && Number.isFinite(eta) ? `, ETA ${eta.toFixed(1)} s` : ""}`;
    if (stream.isTTY) stream.write(`\r${text}${done === total ? "\n" : ""}`);
    else stream.write(`${text}\n`);
  };
}
