import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BUNDLE_FILES, REQUIRED_FILES } from "../bundle/bundle.ts";
import { produceDirAtomic } from "../io/files.ts";
import type { Registry } from "./types.ts";

/**
 * Downloads a registered version's bundle (model file, manifest, metrics) into `dir`, all or
 * nothing; the registry checks the model file's sha256 against the one it registered. The
 * registry is the authority on versions, so the local manifest gets the version filled in.
 */
export async function fetchBundle(
  registry: Registry,
  version: string,
  dir: string,
): Promise<string> {
  await produceDirAtomic(dir, async (temp) => {
    for (const asset of REQUIRED_FILES)
      await registry.downloadAsset(version, asset, join(temp, asset));
    const manifestPath = join(temp, BUNDLE_FILES.manifest);
    const manifest = JSON.parse(await readFile(manifestPath, "utf8")) as Record<string, unknown>;
    await writeFile(manifestPath, `${JSON.stringify({ ...manifest, version }, null, 2)}\n`);
  });
  return dir;
}
