// `npm run lock:platforms [-- --check]`: completes package-lock.json with the native platform
// packages a dependency lists as optionalDependencies but that the lock lacks.
//
// Why: `npm ci` refuses a lock that misses any optional dependency ("Missing: nodejs-polars-darwin-
// arm64@ from lock file"), and a lock made against a registry that does not serve every platform
// package of nodejs-polars has only the ones that registry had. npm keeps such entries on later
// installs and installs only the one matching the machine's os/cpu/libc, so each entry needs just
// the version (from the parent's optionalDependencies) and the platform (from the package name,
// which follows napi-rs's `<name>-<os>-<cpu>[-<abi>]` convention). No integrity is known for
// them: npm verifies the one it downloads against the registry's own checksum instead.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { writeFileAtomic } from "../../lib/io/files.ts";

const OS = new Set(["linux", "darwin", "win32", "android", "freebsd", "openbsd", "sunos", "aix"]);
const CPU = new Set(["x64", "arm64", "ia32", "arm", "riscv64", "s390x", "ppc64", "loong64"]);
/** napi-rs's ABI suffixes and the libc npm matches them with (none for the others). */
const LIBC: Record<string, string | null> = {
  gnu: "glibc",
  gnueabihf: "glibc",
  musl: "musl",
  musleabihf: "musl",
  msvc: null,
  eabi: null,
};

export interface LockEntry {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  optionalDependencies?: Record<string, string>;
  [field: string]: unknown;
}

export interface Lockfile {
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
  [field: string]: unknown;
}

export interface Platform {
  os: string;
  cpu: string;
  libc: string | null;
}

/** The platform a napi-rs package name targets (`nodejs-polars-linux-arm64-musl`), or throws. */
export function platformOf(name: string): Platform {
  const parts = name.split("-");
  for (let i = parts.length - 2; i >= 1; i--) {
    const [os, cpu, abi, ...rest] = parts.slice(i);
    if (!OS.has(os) || !CPU.has(cpu) || rest.length > 0) continue;
    if (abi === undefined) return { os, cpu, libc: null };
    if (abi in LIBC) return { os, cpu, libc: LIBC[abi] };
  }
  throw new Error(
    `${name}: cannot tell its platform; expected a name ending in -<os>-<cpu>[-<abi>] such as -linux-x64-gnu`,
  );
}

/** The lock path of `child` installed beside the package at lock path `parentKey`. */
function siblingKey(parentKey: string, child: string): string {
  return `${parentKey.slice(0, parentKey.lastIndexOf("node_modules/"))}node_modules/${child}`;
}

/**
 * Adds an entry for every optional dependency the lock misses (v2/v3 locks), in npm's own order
 * of packages; returns the added lock paths. Throws when a missing one is not a platform package.
 */
export function completePlatformPackages(lock: Lockfile): string[] {
  if (lock.lockfileVersion < 2 || !lock.packages) {
    throw new Error(`lockfileVersion ${lock.lockfileVersion}: expected 2 or 3 (npm 7 or later)`);
  }
  const added: Record<string, LockEntry> = {};
  for (const [key, entry] of Object.entries(lock.packages)) {
    for (const [child, version] of Object.entries(entry.optionalDependencies ?? {})) {
      const childKey = siblingKey(key, child);
      if (lock.packages[childKey] || added[childKey]) continue;
      if (!/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(version)) {
        throw new Error(
          `${key}: optional dependency ${child}@${version} is not an exact version, so the lock cannot pin it`,
        );
      }
      const { os, cpu, libc } = platformOf(child);
      // Field order as npm writes it, so a later `npm install` leaves the entry as it is.
      added[childKey] = {
        version,
        ...(entry.dev ? { dev: true } : {}),
        cpu: [cpu],
        ...(libc ? { libc: [libc] } : {}),
        optional: true,
        os: [os],
      };
    }
  }
  const keys = Object.keys(added);
  if (keys.length > 0) {
    const all = { ...lock.packages, ...added };
    // npm sorts the packages by path with localeCompare, the root ("") first.
    lock.packages = Object.fromEntries(
      Object.keys(all)
        .sort((a, b) => a.localeCompare(b, "en"))
        .map((k) => [k, all[k]]),
    );
  }
  return keys;
}

/** Reads `path`, completes it and writes it back (atomically) when something was added. */
export async function completeLockFile(path: string, check = false): Promise<string[]> {
  const text = await readFile(path, "utf8");
  let lock: Lockfile;
  try {
    lock = JSON.parse(text) as Lockfile;
  } catch (error) {
    throw new Error(`${path}: not JSON: ${(error as Error).message}`);
  }
  const added = completePlatformPackages(lock);
  if (added.length > 0 && !check) await writeFileAtomic(path, `${JSON.stringify(lock, null, 2)}\n`);
  return added;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { check: { type: "boolean", default: false }, lock: { type: "string" } },
  });
  const path = values.lock ?? fileURLToPath(new URL("../../package-lock.json", import.meta.url));
  try {
    const added = await completeLockFile(path, values.check);
    if (added.length === 0) console.log(`${path}: every optional platform package is locked`);
    else if (values.check) {
      console.error(
        `${path} lacks ${added.join(", ")}; run \`npm run lock:platforms\` to add them`,
      );
      process.exitCode = 1;
    } else console.log(`${path}: added ${added.join(", ")}`);
  } catch (error) {
    console.error(`lock:platforms: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
