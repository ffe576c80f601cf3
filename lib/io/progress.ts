// The one progress printer: `label: done / total unit, N s elapsed, ETA N s`, in place on a
// terminal (every 100 ms at most), as plain lines elsewhere (every 2 s at most, as in a CI log).

export interface Progress {
  /** Reports `done` of `total` (null when the total is unknown, e.g. a download without a size). */
  update(done: number, total: number | null): void;
  /** Prints the last state if it was held back, and ends the line on a terminal. */
  end(): void;
}

export function progressPrinter(
  label: string,
  unit: string,
  stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
): Progress {
  const started = performance.now();
  const interval = stream.isTTY ? 100 : 2000;
  let lastPrinted = Number.NEGATIVE_INFINITY;
  let pending = "";
  let printedAny = false;
  const write = (text: string) => {
    stream.write(stream.isTTY ? `\r${text}` : `${text}\n`);
    printedAny = true;
    pending = "";
  };
  return {
    update(done, total) {
      const now = performance.now();
      const elapsed = (now - started) / 1000;
      const eta = total !== null && done > 0 ? (elapsed / done) * (total - done) : Number.NaN;
      const finished = total !== null && done >= total;
      pending = `${label}: ${done} / ${total ?? "?"} ${unit}, ${elapsed.toFixed(1)} s elapsed${!finished && Number.isFinite(eta) ? `, ETA ${eta.toFixed(1)} s` : ""}`;
      if (finished || now - lastPrinted >= interval) {
        lastPrinted = now;
        write(pending);
      }
    },
    end() {
      if (pending) write(pending);
      if (stream.isTTY && printedAny) stream.write("\n");
    },
  };
}
