import { join } from "node:path";
import { produceDirAtomic } from "../io/files.ts";
import { REQUIRED_ASSETS } from "./bundle.ts";
import type { Registry } from "./types.ts";

/**
 * Downloads a registered version's bundle (model file, manifest, metrics) into `dir`, all or
 * nothing; the registry checks the model file's sha256 against the one it registered.
 */
export async function fetchBundle(registry: Registry, version: string, dir: string): Promise<string> {
  await produceDirAtomic(dir, async (temp) => {
    for (const asset of REQUIRED_ASSETS) await registry.downloadAsset(version, asset, join(temp, asset));
  });
  return dir;
}
