// The forest's model file: a compact, versioned, checksummed binary format.
//
// Layout (little-endian):
//   0  8 bytes  magic "HPFOREST"
//   8  u32      format version
//  12  u32      header length H (bytes of UTF-8 JSON)
//  16  u32      payload length P (everything after this 52-byte prefix)
//  20  32 bytes sha256 of the payload
//  52  payload: header JSON (H bytes), zero padding to a multiple of 8, then the sections
//      treeImportances f64[nTrees * nFeatures], nodeValue f32[nodes], treeNodeCounts u32[nTrees],
//      nodeFeature u8[nodes] (255 = leaf) or i16[nodes] (-1 = leaf) when there are 255+ features.
// Right-child links are not stored: in preorder they follow from which nodes are leaves.

import { createHash } from "node:crypto";
import { endianness } from "node:os";
import { Forest, type ForestInfo, forestFromStored } from "./forest.ts";
import { type ForestParams, validateForestParams } from "./params.ts";

export const MODEL_FORMAT_VERSION = 1;
const MAGIC = "HPFOREST";
const PREFIX_BYTES = 52;
const FORMAT_NAME = "house-price-random-forest";
const FIX = "fetch the model file again, or retrain the model";
/** The format's name and version, as manifests record it. */
export const FOREST_FORMAT = `${FORMAT_NAME}/v${MODEL_FORMAT_VERSION}`;

/** The JSON header stored in every model file. */
export interface ModelHeader extends ForestInfo {
  format: typeof FORMAT_NAME;
  nTrees: number;
  nodeCount: number;
  /** Bytes per stored split feature: 1 (255 marks a leaf) or 2 (-1 marks a leaf). */
  featureBytes: 1 | 2;
}

/** What the caller's JSON manifest records about a model file. */
export interface ModelFileManifest {
  format: typeof FORMAT_NAME;
  formatVersion: number;
  sha256: string;
  bytes: number;
  nTrees: number;
  treeRange: [number, number];
  nodeCount: number;
  nFeatures: number;
  featureNames: string[];
  params: ForestParams;
  trainingRows: number;
  trainingDataSha256: string;
}

function requireLittleEndian(): void {
  if (endianness() !== "LE") {
    throw new Error(
      "model files are little-endian; this machine is big-endian and is not supported",
    );
  }
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** Serializes a forest into the versioned binary model format. */
export function serializeForest(forest: Forest): Uint8Array {
  if (!(forest instanceof Forest)) {
    throw new Error(
      "serializeForest: only forests trained by trainForest can be stored in the binary model format; an ml-random-forest model is saved with its own toJSON()",
    );
  }
  requireLittleEndian();
  const nodes = forest.nodeCount;
  const { nodeFeature, nodeValue } = forest.storedTrees();
  const featureBytes: 1 | 2 = forest.nFeatures < 255 ? 1 : 2;
  const header: ModelHeader = {
    format: FORMAT_NAME,
    params: forest.params,
    nFeatures: forest.nFeatures,
    featureNames: forest.featureNames,
    trainingRows: forest.trainingRows,
    trainingDataSha256: forest.trainingDataSha256,
    treeStart: forest.treeStart,
    nTrees: forest.nTrees,
    nodeCount: nodes,
    featureBytes,
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const importancesAt = align8(headerBytes.length);
  const valuesAt = importancesAt + forest.treeImportances.byteLength;
  const countsAt = valuesAt + nodes * 4;
  const featuresAt = countsAt + forest.nTrees * 4;
  const payloadLength = featuresAt + nodes * featureBytes;

  const file = new Uint8Array(PREFIX_BYTES + payloadLength);
  const payload = file.subarray(PREFIX_BYTES);
  payload.set(headerBytes, 0);
  payload.set(bytesOf(forest.treeImportances), importancesAt);
  payload.set(bytesOf(nodeValue), valuesAt);
  const counts = new Uint32Array(forest.nTrees);
  for (let t = 0; t < forest.nTrees; t++) {
    counts[t] = forest.treeOffsets[t + 1] - forest.treeOffsets[t];
  }
  payload.set(bytesOf(counts), countsAt);
  if (featureBytes === 1) {
    const features = payload.subarray(featuresAt);
    for (let i = 0; i < nodes; i++) {
      const f = nodeFeature[i];
      features[i] = f < 0 ? 255 : f;
    }
  } else {
    payload.set(bytesOf(nodeFeature), featuresAt);
  }

  file.set(new TextEncoder().encode(MAGIC), 0);
  const view = new DataView(file.buffer);
  view.setUint32(8, MODEL_FORMAT_VERSION, true);
  view.setUint32(12, headerBytes.length, true);
  view.setUint32(16, payloadLength, true);
  file.set(createHash("sha256").update(payload).digest(), 20);
  return file;
}

function bytesOf(array: Float64Array | Float32Array | Uint32Array | Int16Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/** Reads and checks the prefix and header of a model file; throws saying what is wrong and what to do. */
function readHeader(bytes: Uint8Array): {
  header: ModelHeader;
  payload: Uint8Array;
  headerLength: number;
} {
  if (bytes.length < PREFIX_BYTES) {
    throw new Error(
      `model file is truncated: it has ${bytes.length} bytes, fewer than the ${PREFIX_BYTES}-byte prefix; ${FIX}`,
    );
  }
  const magic = new TextDecoder().decode(bytes.subarray(0, MAGIC.length));
  if (magic !== MAGIC) {
    throw new Error(
      `not a forest model file: it starts with ${JSON.stringify(magic)} instead of ${JSON.stringify(MAGIC)}; pass the model file that training wrote`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== MODEL_FORMAT_VERSION) {
    throw new Error(
      `model file has format version ${version} but this code reads version ${MODEL_FORMAT_VERSION}; retrain the model with this version of the pipeline, or serve it with the version that wrote it`,
    );
  }
  const headerLength = view.getUint32(12, true);
  const payloadLength = view.getUint32(16, true);
  if (bytes.length < PREFIX_BYTES + payloadLength) {
    throw new Error(
      `model file is truncated: it has ${bytes.length} bytes but declares ${PREFIX_BYTES + payloadLength}; ${FIX}`,
    );
  }
  if (bytes.length > PREFIX_BYTES + payloadLength) {
    throw new Error(
      `model file is corrupted: it has ${bytes.length - PREFIX_BYTES - payloadLength} bytes after its declared end; ${FIX}`,
    );
  }
  const payload = bytes.subarray(PREFIX_BYTES);
  const expected = Buffer.from(bytes.subarray(20, 52)).toString("hex");
  const actual = createHash("sha256").update(payload).digest("hex");
  if (actual !== expected) {
    throw new Error(
      `model file is corrupted: its content has sha256 ${actual} but the file declares ${expected}; ${FIX}`,
    );
  }
  let header: ModelHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(payload.subarray(0, headerLength))) as ModelHeader;
  } catch (error) {
    throw new Error(
      `model file is corrupted: its header is not valid JSON (${(error as Error).message}); ${FIX}`,
    );
  }
  if (header.format !== FORMAT_NAME) {
    throw new Error(
      `model file is corrupted: header format ${JSON.stringify(header.format)} is not ${JSON.stringify(FORMAT_NAME)}; ${FIX}`,
    );
  }
  return { header, payload, headerLength };
}

/** Loads a model file written by serializeForest; truncated, corrupted or other-version files throw. */
export function deserializeForest(bytes: Uint8Array): Forest {
  requireLittleEndian();
  const { header, payload, headerLength } = readHeader(bytes);
  const { nTrees, nodeCount: nodes, nFeatures, featureBytes } = header;
  const params = validateForestParams({ ...header.params });
  const importancesAt = align8(headerLength);
  const valuesAt = importancesAt + nTrees * nFeatures * 8;
  const countsAt = valuesAt + nodes * 4;
  const featuresAt = countsAt + nTrees * 4;
  if (featuresAt + nodes * featureBytes !== payload.length) {
    throw new Error(
      `model file is corrupted: its header describes ${nTrees} trees and ${nodes} nodes (${featuresAt + nodes * featureBytes} bytes) but the payload has ${payload.length} bytes; ${FIX}`,
    );
  }
  // Copies give aligned typed arrays whatever the alignment of `bytes`.
  const section = (at: number, length: number) => payload.slice(at, at + length).buffer;
  const treeImportances = new Float64Array(section(importancesAt, nTrees * nFeatures * 8));
  const nodeValue = new Float32Array(section(valuesAt, nodes * 4));
  const counts = new Uint32Array(section(countsAt, nTrees * 4));
  const treeOffsets = new Int32Array(nTrees + 1);
  for (let t = 0; t < nTrees; t++) treeOffsets[t + 1] = treeOffsets[t] + counts[t];
  if (treeOffsets[nTrees] !== nodes) {
    throw new Error(
      `model file is corrupted: its trees hold ${treeOffsets[nTrees]} nodes, not the ${nodes} its header declares; ${FIX}`,
    );
  }
  let nodeFeature: Int16Array;
  if (featureBytes === 1) {
    const stored = payload.subarray(featuresAt, featuresAt + nodes);
    nodeFeature = new Int16Array(nodes);
    for (let i = 0; i < nodes; i++) nodeFeature[i] = stored[i] === 255 ? -1 : stored[i];
  } else {
    nodeFeature = new Int16Array(section(featuresAt, nodes * 2));
  }
  const info: ForestInfo = {
    params,
    nFeatures,
    featureNames: header.featureNames,
    trainingRows: header.trainingRows,
    trainingDataSha256: header.trainingDataSha256,
    treeStart: header.treeStart,
  };
  try {
    return forestFromStored(info, { treeOffsets, nodeFeature, nodeValue, treeImportances });
  } catch (error) {
    throw new Error(`model file is corrupted: ${(error as Error).message}; ${FIX}`);
  }
}

/** The manifest entry of a model file: its sha256, size and what it holds (checks the file first). */
export function modelFileManifest(bytes: Uint8Array): ModelFileManifest {
  const { header } = readHeader(bytes);
  return {
    format: FORMAT_NAME,
    formatVersion: MODEL_FORMAT_VERSION,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    bytes: bytes.length,
    nTrees: header.nTrees,
    treeRange: [header.treeStart, header.treeStart + header.nTrees],
    nodeCount: header.nodeCount,
    nFeatures: header.nFeatures,
    featureNames: header.featureNames,
    params: header.params,
    trainingRows: header.trainingRows,
    trainingDataSha256: header.trainingDataSha256,
  };
}
