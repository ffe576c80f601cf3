import { type BenchOption, BenchUsageError } from "./args.ts";

/** The `--peers LIST` and `--skip-peers` options of a bench whose peers are `all`; `alone` says what --skip-peers times. */
export function peerOptions(all: readonly string[], alone: string) {
  return {
    peers: {
      type: "string",
      default: all.join(","),
      value: "LIST",
      description: "the peers to run, comma-separated",
    },
    "skip-peers": { type: "boolean", default: false, description: alone },
  } as const satisfies Record<string, BenchOption>;
}

/** The peers that peerOptions' values choose: none with --skip-peers, else parsePeers of --peers. */
export function chosenPeers<P extends string>(
  values: { peers: string; "skip-peers": boolean },
  all: readonly P[],
): P[] {
  return values["skip-peers"] ? [] : parsePeers(values.peers, all);
}

/** `--peers a,b`: the named peers, in `all`'s order; a name not in `all` is an error. */
export function parsePeers<P extends string>(list: string, all: readonly P[]): P[] {
  const names = list
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!(all as readonly string[]).includes(name)) {
      throw new BenchUsageError(
        `--peers: "${name}" is not a peer; expected some of ${all.join(",")}`,
      );
    }
  }
  return all.filter((peer) => names.includes(peer));
}
