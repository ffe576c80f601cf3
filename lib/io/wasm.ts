// Loading the project's WebAssembly: AssemblyScript sources in `assembly/` folders, compiled by
// `npm run build:wasm` to committed .wasm files (lib/io/wasm.test.ts checks they are current).
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root, which the message of an aborted module names its file from. */
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The part of the WebAssembly API used here (TypeScript declares it only among the DOM's types). */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
};

/**
 * A function that makes fresh instances of the module at `url`, each with a memory of its own;
 * the module is compiled once per thread, on first use.
 */
export function wasmInstances<Exports>(url: URL): () => Exports {
  let compiled: object | undefined;
  return () => {
    compiled ??= new WebAssembly.Module(readFileSync(url));
    const instance = new WebAssembly.Instance(compiled, {
      env: {
        abort(): never {
          const file = relative(REPO_ROOT, fileURLToPath(url));
          throw new Error(`${file} aborted: it was built wrongly`);
        },
      },
    });
    return instance.exports as Exports;
  };
}
