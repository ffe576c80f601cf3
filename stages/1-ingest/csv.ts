// Reading the raw CSV: the header, checked, and the data in line-aligned chunks that polars
// can parse one at a time, so memory stays bounded whatever the file size (polars' own CSV scan
// maps the whole file into memory).
import { open, stat } from "node:fs/promises";
import { InputError } from "../../lib/io/errors.ts";
import { wasmInstances } from "../../lib/io/wasm.ts";
import { REQUIRED_COLUMNS } from "../../lib/schema/rules.ts";

/**
 * Bytes of CSV parsed at a time (by default): enough for polars' parallel parser, small enough to
 * bound memory. (Larger pieces measured no faster: fewer polars calls, but more fresh memory to
 * touch.)
 */
export const CHUNK_BYTES = 32 * 1024 * 1024;

export interface ChunkOptions {
  /** About how many bytes each piece holds (default CHUNK_BYTES). */
  chunkBytes?: number;
}

export interface Header {
  /** Column names, trimmed and unquoted. */
  columns: string[];
  /** Length of the header line in bytes, line break included: where the data starts. */
  bytes: number;
}

/**
 * Reads and checks the header line: the file exists, is not empty, uses commas and
 * has every required column. A UTF-8 BOM and CRLF line endings are accepted.
 */
export async function readHeader(input: string): Promise<Header> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(input, "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      throw new InputError(
        `${input}: file not found; run \`npm run data:fetch\`, or set input to the CSV's path`,
      );
    }
    throw new InputError(`${input}: cannot be read (${code ?? (error as Error).message})`);
  }
  const buffer = Buffer.alloc(64 * 1024);
  const { bytesRead } = await handle
    .read(buffer, 0, buffer.length, 0)
    .finally(() => handle.close());
  let text = buffer.subarray(0, bytesRead).toString("utf8");
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === "") {
    throw new InputError(
      `${input}: the file is empty; expected a CSV header: ${REQUIRED_COLUMNS.join(",")}`,
    );
  }
  const line = text.split("\n")[0].replace(/\r$/, "");
  const columns = line.split(",").map((name) => name.trim().replace(/^"(.*)"$/, "$1"));
  const missing = REQUIRED_COLUMNS.filter((column) => !columns.includes(column));
  if (missing.length > 0) {
    const delimiter = [";", "\t", "|"].find(
      (candidate) => line.split(candidate).length > columns.length,
    );
    if (delimiter) {
      const shown = delimiter === "\t" ? "tab" : `"${delimiter}"`;
      throw new InputError(
        `${input}: line 1 is separated by ${shown}, not by commas; save the file as comma-separated CSV`,
      );
    }
    throw new InputError(
      `${input}: line 1 (header) is missing column${missing.length > 1 ? "s" : ""} ${missing.join(", ")}; found ${columns.join(", ")}`,
    );
  }
  const lineBreak = buffer.subarray(0, bytesRead).indexOf(0x0a);
  return { columns, bytes: lineBreak === -1 ? bytesRead : lineBreak + 1 };
}

/**
 * The data part of `input` (after the header) in pieces of about `chunkBytes`, each ending at a
 * line break outside quotes so polars can parse it alone.
 * A piece is valid only until the next one is asked for: its buffer is then reused.
 */
export async function* dataChunks(
  input: string,
  headerBytes: number,
  { chunkBytes = CHUNK_BYTES }: ChunkOptions = {},
): AsyncGenerator<Buffer> {
  const handle = await open(input, "r");
  let position = headerBytes;
  const readInto = async (buffer: Buffer, offset: number, length: number) => {
    const { bytesRead } = await handle.read(buffer, offset, length, position);
    position += bytesRead;
    return bytesRead;
  };
  // Two buffers, so that the next piece is read while polars works on this one; no larger than
  // the file. (Unfilled, as every byte used is read into them first.)
  const size = Math.min(chunkBytes, (await handle.stat()).size + 1);
  const buffers = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  let current = 0;
  // Bytes at the start of the current buffer: an incomplete line left over from the last piece.
  let carried = 0;
  let reading = Promise.resolve(0);
  try {
    reading = readInto(buffers[current], 0, buffers[current].length);
    for (;;) {
      const bytesRead = await reading;
      let buffer = buffers[current];
      const filled = carried + bytesRead;
      if (bytesRead === 0) {
        if (filled > 0) yield buffer.subarray(0, filled);
        return;
      }
      const end = endOfLastRecord(buffer, filled);
      if (end === 0) {
        if (filled === buffer.length) {
          // One line longer than the buffer: grow it rather than split the line.
          buffer = Buffer.concat([buffer, Buffer.allocUnsafe(buffer.length)]);
          buffers[current] = buffer;
        }
        carried = filled;
        reading = readInto(buffer, filled, buffer.length - filled);
        continue;
      }
      const next = 1 - current;
      if (buffers[next].length < buffer.length) buffers[next] = Buffer.allocUnsafe(buffer.length);
      carried = buffer.copy(buffers[next], 0, end, filled);
      reading = readInto(buffers[next], carried, buffers[next].length - carried);
      current = next;
      yield buffer.subarray(0, end);
    }
  } finally {
    // Let a read still under way finish before the file is closed under it.
    await reading.catch(() => {});
    await handle.close();
  }
}

/** Where the last complete CSV record in `buffer[0, filled)` ends: after a line break outside quotes. */
function endOfLastRecord(buffer: Buffer, filled: number): number {
  const data = buffer.subarray(0, filled);
  // Without quotes every line break ends a record; the byte scan below is only for quoted text.
  if (data.indexOf(0x22) === -1) return data.lastIndexOf(0x0a) + 1;
  let inQuotes = false;
  let end = 0;
  for (let i = 0; i < filled; i++) {
    const byte = data[i];
    if (byte === 0x22) inQuotes = !inQuotes;
    else if (byte === 0x0a && !inQuotes) end = i + 1;
  }
  return end;
}

export async function endsWithoutNewline(path: string): Promise<boolean> {
  const { size } = await stat(path);
  if (size === 0) return false;
  const handle = await open(path, "r");
  try {
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } finally {
    await handle.close();
  }
}

/** What assembly/lines.ts exports. */
interface LinesWasm {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  counted: { value: number };
  dataStart(): number;
  lineStarts(
    data: number,
    length: number,
    line: number,
    targets: number,
    count: number,
    starts: number,
  ): number;
}

const linesWasm = wasmInstances<LinesWasm>(new URL("./lines.wasm", import.meta.url));
let lines: LinesWasm | undefined;

/** Bytes of a chunk searched at a time: copied into the WebAssembly's memory, they stay in cache. */
const WINDOW_BYTES = 1024 * 1024;

/**
 * The lines at `indexes` (0-based, ascending) of `chunk`, line breaks included; fewer when the
 * chunk has fewer lines. The line breaks before them are counted in WebAssembly (lines.wasm).
 */
export function linesAt(chunk: Buffer, indexes: number[]): Buffer {
  lines ??= linesWasm();
  const wasm = lines;
  const data = wasm.dataStart();
  const targetsAt = data + WINDOW_BYTES;
  const startsAt = targetsAt + 4 * indexes.length;
  const missing = startsAt + 4 * indexes.length - wasm.memory.buffer.byteLength;
  if (missing > 0) wasm.memory.grow(Math.ceil(missing / 65536));
  // Views made after the memory grew: growing replaces its buffer.
  const window = new Uint8Array(wasm.memory.buffer, data, WINDOW_BYTES);
  const starts = new Int32Array(wasm.memory.buffer, startsAt, indexes.length);
  new Int32Array(wasm.memory.buffer, targetsAt, indexes.length).set(indexes);
  const found: Buffer[] = [];
  let from = 0;
  let line = 0;
  while (found.length < indexes.length && from < chunk.length) {
    const length = chunk.copy(window, 0, from, from + WINDOW_BYTES);
    const done = found.length;
    const count = wasm.lineStarts(
      data,
      length,
      line,
      targetsAt + 4 * done,
      indexes.length - done,
      startsAt + 4 * done,
    );
    for (let k = done; k < done + count; k++) {
      const start = from + starts[k];
      const end = chunk.indexOf(0x0a, start);
      found.push(chunk.subarray(start, end === -1 ? chunk.length : end + 1));
    }
    line = wasm.counted.value;
    from += length;
  }
  return Buffer.concat(found);
}
