import { describe, expect, it } from "vitest";
import { linesAt } from "./csv.ts";

/** The lines of `text`, each with its line break; a last line without one as it is. */
function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/** A generator of the same numbers for the same seed (mulberry32). */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Lines of random lengths (empty ones, CRLF ones, some longer than a 64-byte block). */
function randomText(next: () => number, bytes: number): string {
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const kind = next();
    const length =
      kind < 0.05 ? 0 : kind < 0.1 ? 300 + Math.floor(next() * 3000) : Math.floor(next() * 120);
    const line = `${"x".repeat(length)}${next() < 0.1 ? "\r\n" : "\n"}`;
    parts.push(line);
    size += line.length;
  }
  return parts.join("");
}

describe("linesAt", () => {
  it("returns the lines at the indexes, line breaks included, across many windows", () => {
    const next = random(7);
    // More than 3 MiB, so that the search runs through several 1 MiB windows.
    const text = `${randomText(next, 3.5 * 1024 * 1024)}last line without a break`;
    const lines = splitLines(text);
    const indexes = [0, 1, lines.length - 2, lines.length - 1];
    for (let i = 0; i < 500; i++) indexes.push(Math.floor(next() * lines.length));
    const wanted = [...new Set(indexes)].sort((a, b) => a - b);
    const found = linesAt(Buffer.from(text, "latin1"), wanted).toString("latin1");
    expect(found).toBe(wanted.map((index) => lines[index]).join(""));
  });

  it("finds a line that starts or ends right at a window's edge", () => {
    const window = 1024 * 1024;
    // Line 1 ends with the window's last byte, so line 2 starts the next window; line 3 spans
    // the next edge.
    const first = `${"a".repeat(99)}\n`;
    const second = `${"b".repeat(window - first.length - 1)}\n`;
    const third = `${"c".repeat(window + 50)}\n`;
    const text = `${first}${second}${third}d\n`;
    expect(linesAt(Buffer.from(text), [1, 2, 3, 4]).toString()).toBe(`${second}${third}d\n`);
    expect(linesAt(Buffer.from(text), [0]).toString()).toBe(first);
  });

  it("returns every line when every line is asked for", () => {
    const text = "1,2\n\n3,4\r\n5,6\n".repeat(50_000);
    const lines = splitLines(text);
    const all = lines.map((_, index) => index);
    expect(linesAt(Buffer.from(text), all).toString()).toBe(text);
  });

  it("returns fewer lines when an index is past the last line", () => {
    expect(linesAt(Buffer.from("a\nb\nc\n"), [1, 5]).toString()).toBe("b\n");
    expect(linesAt(Buffer.from("a\nb\nc\n"), []).length).toBe(0);
  });
});
