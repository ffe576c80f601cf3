// Worker thread: bins features until none are left, then grows trees until none are left.
import { parentPort } from "node:worker_threads";
import {
  binSharedFeatures,
  growWalkTree,
  type SharedTraining,
  sharedGrower,
  takeTree,
  waitForAllFeaturesBinned,
} from "./shared-training.ts";
import type { FromWorker } from "./train.ts";

const port = parentPort;
if (!port) throw new Error("lib/forest/worker.ts must run as a worker thread");
port.once("message", (shared: SharedTraining) => {
  binSharedFeatures(shared);
  waitForAllFeaturesBinned(shared);
  const grower = sharedGrower(shared);
  for (let tree = takeTree(shared); tree >= 0; tree = takeTree(shared)) {
    const grown = growWalkTree(grower, tree);
    const message: FromWorker = { tree, ...grown };
    port.postMessage(message, [grown.walk, grown.importance.buffer as ArrayBuffer]);
  }
});
