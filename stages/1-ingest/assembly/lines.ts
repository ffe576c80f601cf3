// Where lines start in a window of CSV bytes, for linesAt in stages/1-ingest/csv.ts: it counts
// line breaks 64 bytes at a time with SIMD compares, where JavaScript's only way is one
// `indexOf` call per line (about 3 times as long on 2 million lines).
//
// The caller copies a window of its bytes to dataStart() and the ascending line numbers it wants
// after it; lineStarts writes where those lines start. Lines are counted from the window's first
// byte, which starts line `line`.

/** How many line breaks lineStarts counted, when it ran out of window before its last target. */
export let counted: i32 = 0;

/** Where the window's bytes go: after what the module itself uses, 16-byte aligned. */
export function dataStart(): usize {
  return (__heap_base + 15) & ~15;
}

/**
 * For the ascending line numbers at `targets` (`count` of them), writes to `starts` the offset in
 * the window `data[0, length)` at which each line starts, for as many as start inside it; returns
 * how many. When the window ends first, `counted` is the line number its end falls in.
 */
export function lineStarts(
  data: usize,
  length: i32,
  line: i32,
  targets: usize,
  count: i32,
  starts: usize,
): i32 {
  const newline = i8x16.splat(0x0a);
  let at = 0;
  let found = 0;
  for (; found < count; found++) {
    const target = load<i32>(targets + ((<usize>found) << 2));
    // Whole blocks of 64 bytes while the target line starts after them.
    while (line < target && at + 64 <= length) {
      const block = data + <usize>at;
      const breaks =
        popcnt<i32>(i8x16.bitmask(i8x16.eq(v128.load(block), newline))) +
        popcnt<i32>(i8x16.bitmask(i8x16.eq(v128.load(block, 16), newline))) +
        popcnt<i32>(i8x16.bitmask(i8x16.eq(v128.load(block, 32), newline))) +
        popcnt<i32>(i8x16.bitmask(i8x16.eq(v128.load(block, 48), newline)));
      if (line + breaks >= target) break;
      line += breaks;
      at += 64;
    }
    // Then byte by byte, up to the line break before the target line.
    while (line < target && at < length) {
      if (load<u8>(data + <usize>at) === 0x0a) line++;
      at++;
    }
    if (line < target) break;
    store<i32>(starts + ((<usize>found) << 2), at);
  }
  counted = line;
  return found;
}
