import { execFile } from "node:child_process";
import { glob, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));

/** The asconfig.json files that `npm run build:wasm` builds from. */
async function buildConfigs(): Promise<string[]> {
  const { scripts } = JSON.parse(await readFile(join(root, "package.json"), "utf8"));
  return [...(scripts["build:wasm"] as string).matchAll(/--config (\S+)/g)].map(([, path]) => path);
}

describe("the committed WebAssembly", async () => {
  const configs = await buildConfigs();

  it("is built from every assembly/ folder", async () => {
    const found: string[] = [];
    for await (const path of glob("{lib,stages}/**/assembly/asconfig.json", { cwd: root })) {
      found.push(path);
    }
    expect(found.length).toBeGreaterThan(0);
    expect([...configs].sort(), "npm run build:wasm must build every assembly/ folder").toEqual(
      found.sort(),
    );
  });

  it.each(configs)(
    "is what `npm run build:wasm` builds from %s today",
    async (config) => {
      const { options } = JSON.parse(await readFile(join(root, config), "utf8"));
      const committed = resolve(root, dirname(config), options.outFile);
      const dir = await mkdtemp(join(tmpdir(), "wasm-build-"));
      try {
        const built = join(dir, "built.wasm");
        const asc = fileURLToPath(import.meta.resolve("assemblyscript/bin/asc"));
        await promisify(execFile)(process.execPath, [asc, "--config", config, "--outFile", built], {
          cwd: root,
        });
        expect(
          Buffer.compare(await readFile(built), await readFile(committed)),
          `${relative(root, committed)} is out of date: run \`npm run build:wasm\` and commit it`,
        ).toBe(0);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );
});
