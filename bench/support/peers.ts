import { BenchUsageError } from "./args.ts";

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
