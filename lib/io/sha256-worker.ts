// Worker thread: the sha256 of one file (workerData), posted back as hex; see sha256FileOffThread.
import { parentPort, workerData } from "node:worker_threads";
import { sha256File } from "./files.ts";

if (!parentPort) throw new Error("lib/io/sha256-worker.ts must run as a worker thread");
parentPort.postMessage(await sha256File(workerData as string));
