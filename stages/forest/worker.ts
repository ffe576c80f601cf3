// Worker thread: grows the trees the main thread asks for, on binned data shared with it.
import { parentPort } from "node:worker_threads";
import { treeWalk } from "./forest.ts";
import { TreeGrower } from "./grow.ts";
import type { GrowResult, ToWorker } from "./train.ts";

const port = parentPort;
if (!port) throw new Error("stages/forest/worker.ts must run as a worker thread");
let grower: TreeGrower | undefined;
port.on("message", (message: ToWorker) => {
  if (message.kind === "setup") {
    grower = new TreeGrower(
      {
        colBins:
          message.binBytes === 1
            ? new Uint8Array(message.colBins)
            : new Uint16Array(message.colBins),
        order:
          message.nRows <= 65_536 ? new Uint16Array(message.order) : new Int32Array(message.order),
        y: new Float64Array(message.y),
        nRows: message.nRows,
        nFeatures: message.nFeatures,
        edges: message.edges,
      },
      message.params,
    );
    return;
  }
  if (!grower) throw new Error("forest worker: asked to grow a tree before its setup");
  const tree = grower.grow(message.tree);
  // The worker, whose code is warm, turns the tree into the forest's walk records.
  const walk = treeWalk(tree.feature, tree.value, grower.nFeatures);
  const result: GrowResult = { tree: message.tree, walk, importance: tree.importance };
  port.postMessage(result, [walk, tree.importance.buffer as ArrayBuffer]);
});
