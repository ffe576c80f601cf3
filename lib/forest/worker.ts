// Worker thread: bins features until none are left, then grows the trees the main thread asks for.
import { parentPort } from "node:worker_threads";
import { TreeGrower } from "./grow.ts";
import { binnedData, binSharedFeatures, type SharedTraining } from "./shared-training.ts";
import type { FromWorker, ToWorker } from "./train.ts";
import { treeWalk } from "./walk.ts";

const port = parentPort;
if (!port) throw new Error("lib/forest/worker.ts must run as a worker thread");
let shared: SharedTraining | undefined;
let grower: TreeGrower | undefined;
port.on("message", (message: ToWorker) => {
  if (message.kind === "bin") {
    shared = message.shared;
    binSharedFeatures(shared);
    port.postMessage({ kind: "binned" } satisfies FromWorker);
    return;
  }
  if (!shared) throw new Error("forest worker: asked to grow a tree before the data was shared");
  grower ??= new TreeGrower(binnedData(shared), shared.params);
  const tree = grower.grow(message.tree);
  // The worker, whose code is warm, turns the tree into the forest's walk records.
  const walk = treeWalk(tree.feature, tree.value, grower.nFeatures);
  const result: FromWorker = {
    kind: "tree",
    tree: message.tree,
    walk,
    importance: tree.importance,
  };
  port.postMessage(result, [walk, tree.importance.buffer as ArrayBuffer]);
});
