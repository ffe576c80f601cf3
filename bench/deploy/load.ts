// A constant /predict load (autocannon over a fixed number of connections, each sending its next
// request as soon as the last is answered, or at a fixed overall rate) that reads every answer's
// model_version, so the bench sees the moment a new version starts answering, and counts every
// failed request.
import { createRequire } from "node:module";
import { epochMs, failedRequests } from "./measure.ts";

interface AutocannonResult {
  requests: { sent: number; total: number };
  non2xx: number;
  /** Socket errors and timeouts. */
  errors: number;
  timeouts: number;
}

interface AutocannonInstance {
  stop(): void;
}

type Autocannon = (
  options: Record<string, unknown>,
  done: (error: Error | null, result: AutocannonResult) => void,
) => AutocannonInstance;

const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

export interface LoadTally {
  /** Requests sent. */
  sent: number;
  /** Answers received (any status). */
  answers: number;
  /** Answers outside 2xx, socket errors, timeouts and unanswered requests (failedRequests). */
  failed: number;
  /** Of `failed`: answers outside 2xx. */
  non2xx: number;
  /** Of `failed`: socket errors and timeouts (autocannon waits 10 s for an answer). */
  errors: number;
  /** Of `errors`: the timeouts. */
  timeouts: number;
  /** 2xx answers without a readable model_version. */
  unreadable: number;
  /** 2xx answers per model_version. */
  byVersion: Record<string, number>;
}

export interface VersionLoad {
  /** When each model_version first answered (epochMs()). */
  readonly firstSeen: ReadonlyMap<string, number>;
  /** Resolves with the first answer's time once `version` answers; rejects after `timeoutMs`. */
  waitForVersion(version: string, timeoutMs: number): Promise<number>;
  /** Stops the load and returns the counts of the whole run. */
  stop(): Promise<LoadTally>;
}

export interface LoadOptions {
  url: string;
  body: string;
  connections: number;
  /** Requests per second over all connections; 0: as fast as the answers come. */
  rate?: number;
}

/** Starts loading `url`/predict with `body` over `connections` connections until stopped. */
export function startVersionLoad(options: LoadOptions): VersionLoad {
  const firstSeen = new Map<string, number>();
  const byVersion: Record<string, number> = {};
  const waiters = new Map<string, Array<(at: number) => void>>();
  let answers = 0;
  let unreadable = 0;

  const onResponse = (status: number, body: string) => {
    const at = epochMs();
    answers++;
    if (status < 200 || status >= 300) return;
    let version: unknown;
    try {
      version = (JSON.parse(body) as { model_version?: unknown }).model_version;
    } catch {
      version = undefined;
    }
    if (typeof version !== "string") {
      unreadable++;
      return;
    }
    byVersion[version] = (byVersion[version] ?? 0) + 1;
    if (!firstSeen.has(version)) {
      firstSeen.set(version, at);
      for (const resolve of waiters.get(version) ?? []) resolve(at);
      waiters.delete(version);
    }
  };

  let finish: (result: AutocannonResult) => void = () => {};
  let fail: (error: Error) => void = () => {};
  const finished = new Promise<AutocannonResult>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const instance = autocannon(
    {
      url: options.url,
      connections: options.connections,
      ...(options.rate ? { overallRate: options.rate } : {}),
      // Runs until stop(); the limit only bounds a run whose caller never stops it.
      duration: 3600,
      requests: [
        {
          method: "POST",
          path: "/predict",
          headers: { "content-type": "application/json" },
          body: options.body,
          onResponse,
        },
      ],
    },
    (error, result) => (error ? fail(error) : finish(result)),
  );

  return {
    firstSeen,
    waitForVersion(version, timeoutMs) {
      const seen = firstSeen.get(version);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no answer carried ${version} within ${timeoutMs / 1000} s`)),
          timeoutMs,
        );
        const list = waiters.get(version) ?? [];
        list.push((at) => {
          clearTimeout(timer);
          resolve(at);
        });
        waiters.set(version, list);
      });
    },
    async stop() {
      instance.stop();
      const result = await finished;
      return {
        sent: result.requests.sent,
        answers,
        failed: failedRequests(result, options.connections),
        non2xx: result.non2xx,
        errors: result.errors,
        timeouts: result.timeouts,
        unreadable,
        byVersion,
      };
    },
  };
}
