import { readFileSync } from "node:fs";

/** The version of this project (no name) or of an installed dependency, from its package.json. */
export function packageVersion(name?: string): string {
  const path = name ? `../../node_modules/${name}/package.json` : "../../package.json";
  return (JSON.parse(readFileSync(new URL(path, import.meta.url), "utf8")) as { version: string })
    .version;
}

/** Versions of the runtime and the libraries that shape results, for reports and manifests. */
export function libraryVersions(): Record<string, string> {
  return { node: process.versions.node, "nodejs-polars": packageVersion("nodejs-polars") };
}
