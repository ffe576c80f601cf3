import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  completeLockFile,
  completePlatformPackages,
  type Lockfile,
  platformOf,
} from "./platform-packages.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

describe("platformOf", () => {
  it("reads os, cpu and libc from napi-rs package names", () => {
    expect(platformOf("nodejs-polars-linux-x64-gnu")).toEqual({
      os: "linux",
      cpu: "x64",
      libc: "glibc",
    });
    expect(platformOf("nodejs-polars-linux-arm64-musl")).toEqual({
      os: "linux",
      cpu: "arm64",
      libc: "musl",
    });
    expect(platformOf("nodejs-polars-darwin-arm64")).toEqual({
      os: "darwin",
      cpu: "arm64",
      libc: null,
    });
    expect(platformOf("nodejs-polars-win32-x64-msvc")).toEqual({
      os: "win32",
      cpu: "x64",
      libc: null,
    });
    expect(platformOf("@scope/binding-android-arm64")).toEqual({
      os: "android",
      cpu: "arm64",
      libc: null,
    });
  });

  it("names the package it cannot place", () => {
    expect(() => platformOf("left-pad")).toThrow(/left-pad: cannot tell its platform/);
    expect(() => platformOf("x-linux-x64-weird")).toThrow(/x-linux-x64-weird/);
  });
});

function lockWith(packages: Lockfile["packages"]): Lockfile {
  return { name: "p", lockfileVersion: 3, requires: true, packages: { "": {}, ...packages } };
}

describe("completePlatformPackages", () => {
  it("adds the missing platforms beside their parent, in npm's order, once", () => {
    const lock = lockWith({
      "node_modules/zeta": { version: "1.0.0" },
      "node_modules/native": {
        version: "2.1.0",
        optionalDependencies: { "native-linux-x64-gnu": "2.1.0", "native-darwin-arm64": "2.1.0" },
      },
      "node_modules/native-linux-x64-gnu": { version: "2.1.0", integrity: "sha512-x" },
      "node_modules/a/node_modules/native": {
        version: "1.0.0",
        dev: true,
        optionalDependencies: { "native-win32-x64-msvc": "1.0.0" },
      },
    });
    expect(completePlatformPackages(lock)).toEqual([
      "node_modules/native-darwin-arm64",
      "node_modules/a/node_modules/native-win32-x64-msvc",
    ]);
    expect(lock.packages["node_modules/native-darwin-arm64"]).toEqual({
      version: "2.1.0",
      cpu: ["arm64"],
      optional: true,
      os: ["darwin"],
    });
    expect(lock.packages["node_modules/a/node_modules/native-win32-x64-msvc"]).toEqual({
      version: "1.0.0",
      dev: true,
      cpu: ["x64"],
      optional: true,
      os: ["win32"],
    });
    expect(Object.keys(lock.packages)).toEqual([
      "",
      "node_modules/a/node_modules/native",
      "node_modules/a/node_modules/native-win32-x64-msvc",
      "node_modules/native",
      "node_modules/native-darwin-arm64",
      "node_modules/native-linux-x64-gnu",
      "node_modules/zeta",
    ]);
    expect(completePlatformPackages(lock)).toEqual([]);
  });

  it("refuses a range, which the lock could not pin", () => {
    const lock = lockWith({
      "node_modules/native": { optionalDependencies: { "native-linux-x64-gnu": "^2.1.0" } },
    });
    expect(() => completePlatformPackages(lock)).toThrow(
      /native-linux-x64-gnu@\^2.1.0 is not an exact version/,
    );
  });

  it("refuses a lockfile v1", () => {
    expect(() => completePlatformPackages({ lockfileVersion: 1, packages: {} })).toThrow(
      /lockfileVersion 1/,
    );
  });
});

describe("the project's package-lock.json", () => {
  let dir: string;
  let incomplete: string;
  const npm = promisify(execFile);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lock-platforms-"));
    await writeFile(join(dir, "package.json"), await readFile(join(REPO, "package.json")));
    await writeFile(
      join(dir, "package-lock.json"),
      await readFile(join(REPO, "package-lock.json")),
    );
    // The lock as npm writes it against a registry without these platform packages.
    const lock = JSON.parse(await readFile(join(REPO, "package-lock.json"), "utf8")) as Lockfile;
    for (const key of Object.keys(lock.packages)) {
      if (/nodejs-polars-(android|darwin-arm64|linux-arm64|win32)/.test(key))
        delete lock.packages[key];
    }
    incomplete = join(dir, "incomplete");
    await writeFile(join(dir, "incomplete.json"), JSON.stringify(lock));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** `npm ci --dry-run` for a platform, offline with an empty cache: npm's own lock check. */
  function dryRun(cwd: string, os: string, cpu: string, libc: string) {
    return npm(
      "npm",
      [
        "ci",
        "--dry-run",
        "--ignore-scripts",
        "--offline",
        "--no-audit",
        "--no-fund",
        `--cache=${join(cwd, ".npm-cache")}`,
        `--os=${os}`,
        `--cpu=${cpu}`,
        `--libc=${libc}`,
      ],
      { cwd, maxBuffer: 16 * 1024 * 1024 },
    );
  }

  it("already holds every optional platform package", async () => {
    expect(await completeLockFile(join(REPO, "package-lock.json"), true)).toEqual([]);
  });

  it("is accepted by npm ci, which picks exactly the locked polars binary for each platform", async () => {
    const version = JSON.parse(await readFile(join(REPO, "package-lock.json"), "utf8")).packages[
      "node_modules/nodejs-polars"
    ].version;
    const platforms = [
      ["linux", "x64", "glibc", "linux-x64-gnu"],
      ["linux", "arm64", "musl", "linux-arm64-musl"],
      ["darwin", "arm64", "glibc", "darwin-arm64"],
      ["win32", "x64", "glibc", "win32-x64-msvc"],
    ];
    const runs = await Promise.all(platforms.map(([os, cpu, libc]) => dryRun(dir, os, cpu, libc)));
    runs.forEach(({ stdout }, i) => {
      const polars = stdout.split("\n").filter((line) => line.includes("nodejs-polars"));
      expect(polars.sort()).toEqual([
        `add nodejs-polars ${version}`,
        `add nodejs-polars-${platforms[i][3]} ${version}`,
      ]);
    });
  });

  it("without the completed entries, npm ci stops as it did before", async () => {
    const copy = await mkdtemp(join(dir, "incomplete-"));
    await writeFile(join(copy, "package.json"), await readFile(join(dir, "package.json")));
    await writeFile(join(copy, "package-lock.json"), await readFile(`${incomplete}.json`));
    const failure = await dryRun(copy, "linux", "x64", "glibc").then(
      () => null,
      (error: { stderr: string }) => error.stderr,
    );
    expect(failure).toMatch(/Missing: nodejs-polars-darwin-arm64@ from lock file/);
    // … and the script restores exactly what the committed lock holds.
    const added = await completeLockFile(join(copy, "package-lock.json"));
    expect(added.length).toBe(5);
    expect(JSON.parse(await readFile(join(copy, "package-lock.json"), "utf8"))).toEqual(
      JSON.parse(await readFile(join(REPO, "package-lock.json"), "utf8")),
    );
  });
});
