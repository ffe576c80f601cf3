import { readFileSync } from "node:fs";

/** Versions of the runtime and the libraries that shape results, for reports and manifests. */
export function libraryVersions(): Record<string, string> {
  const versionOf = (name: string) => {
    const url = new URL(`../../node_modules/${name}/package.json`, import.meta.url);
    return (JSON.parse(readFileSync(url, "utf8")) as { version: string }).version;
  };
  return { node: process.versions.node, "nodejs-polars": versionOf("nodejs-polars") };
}
