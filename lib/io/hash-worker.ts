// Worker thread of sha256FileOffThread: hashes the file named by workerData and posts its hex
// sha256. A failure reaches the parent as the worker's error.
import { parentPort, workerData } from "node:worker_threads";
import { sha256File } from "./files.ts";

parentPort?.postMessage(await sha256File(workerData as string));
