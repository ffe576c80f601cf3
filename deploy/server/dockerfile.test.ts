// deploy/Dockerfile and the serving image's dependency set, read statically: the pins, the
// distroless final stage, and that what the image copies and installs is exactly what the
// server's import closure needs. deploy/image.test.ts builds and runs the image for real.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, matchesGlob, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DOCKERFILE, imageFacts, instructions } from "../../tools/container/dockerfile.ts";
import { parseEnv } from "./config.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const steps = instructions(readFileSync(DOCKERFILE, "utf8"));
const facts = imageFacts();

interface PackageJson {
  dependencies: Record<string, string>;
  devDependencies?: Record<string, string>;
}
interface PackageLock {
  packages: Record<string, { version?: string; dependencies?: Record<string, string> }>;
}
const readJson = <T>(path: string) => JSON.parse(readFileSync(join(REPO, path), "utf8")) as T;

/** The instructions of the last stage (the image that ships). */
function finalStage() {
  const start = steps.findLastIndex((step) => step.keyword === "FROM");
  return steps.slice(start);
}
const all = (keyword: string, within = steps) => within.filter((step) => step.keyword === keyword);

/**
 * What `entry` loads at run time: the repository files reachable through relative imports
 * (static, or dynamic with a literal specifier), and the npm packages it imports (type-only
 * imports are erased by Node, so they need no package).
 */
function importClosure(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (files.has(file)) continue;
    files.add(file);
    const source = readFileSync(join(REPO, file), "utf8");
    const imports: [string | undefined, string][] = [
      ...[...source.matchAll(/^\s*(?:import|export)\s(type\s)?[^;]*?from\s+"([^"]+)"/gms)].map(
        (match): [string | undefined, string] => [match[1], match[2]],
      ),
      ...[...source.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g)].map(
        (match): [string | undefined, string] => [undefined, match[1]],
      ),
    ];
    for (const [typeOnly, specifier] of imports) {
      if (specifier.startsWith(".")) {
        pending.push(relative(REPO, resolve(REPO, dirname(file), specifier)));
      } else if (!specifier.startsWith("node:") && !typeOnly) {
        const [scopeOrName, name] = specifier.split("/");
        packages.add(scopeOrName.startsWith("@") ? `${scopeOrName}/${name}` : scopeOrName);
      }
    }
    expect(
      source.replace(/\bimport\(\s*"[^"]+"\s*\)/g, ""),
      `${file} imports a computed specifier; the closure cannot see it`,
    ).not.toMatch(/\bimport\(/);
  }
  return { files, packages };
}

const closure = importClosure("deploy/server/index.ts");
/** The repository paths the build copies from its context. */
const copiedSources = all("COPY")
  .filter((copy) => !copy.args.includes("--from="))
  .flatMap((copy) => copy.args.split(/\s+/).slice(0, -1));
/** What the service needs besides the server's sources: its package manifest and lock. */
const MANIFESTS = ["deploy/package.json", "deploy/package-lock.json"];

describe("deploy/Dockerfile", () => {
  it("builds on the official Node image pinned by digest, overridable for a local base", () => {
    expect(facts.nodeImage).toMatch(/^node:\d+\.\d+\.\d+-[a-z]+-slim@sha256:[0-9a-f]{64}$/);
    const stages = new Set<string>();
    for (const from of all("FROM")) {
      const [image, as, name] = from.args.split(/\s+/);
      expect(as?.toUpperCase(), from.args).toBe("AS");
      const known = image === "scratch" || /^\$\{NODE_IMAGE\}$/.test(image) || stages.has(image);
      expect(known, `${from.args}: a base other than NODE_IMAGE, scratch or a stage`).toBe(true);
      stages.add(name);
    }
    expect(stages.size).toBeGreaterThanOrEqual(3);
  });

  it("ships a final stage with no shell or package manager: scratch plus node and its libraries", () => {
    const [from] = all("FROM", finalStage());
    expect(from.args).toMatch(/^scratch\s/i);
    expect(all("RUN", finalStage())).toEqual([]);
    const sources = all("COPY", finalStage()).map((copy) => copy.args.match(/--from=(\S+)/)?.[1]);
    expect(sources).toEqual(["rootfs", "app"]);
  });

  it("runs as the numeric non-root user 1000, on port PORT, checking /health", () => {
    expect(facts.user).toBe("1000:1000");
    expect(all("EXPOSE", finalStage()).map((expose) => expose.args)).toContain(String(facts.port));
    expect(all("ENV", finalStage()).some((env) => /HOST=0\.0\.0\.0/.test(env.args))).toBe(true);
    const [healthcheck] = all("HEALTHCHECK", finalStage());
    expect(healthcheck.args).toMatch(/\/health/);
    expect(all("CMD", finalStage()).at(-1)?.args).toBe('["node", "deploy/server/index.ts"]');
  });

  it("keeps models outside the image: a /models volume MODEL_DIR points into, and a /cache volume", () => {
    expect(all("VOLUME", finalStage()).map((volume) => volume.args)).toEqual([
      '["/models", "/cache"]',
    ]);
    const modelDir = all("ARG", finalStage())
      .map((arg) => arg.args.match(/^MODEL_DIR=(\S+)$/)?.[1])
      .find(Boolean);
    expect(parseEnv({ MODEL_DIR: modelDir }).modelDir).toMatch(/^\/models\//);
  });

  it("copies every source file the server imports, and nothing it does not", () => {
    expect(closure.files.size).toBeGreaterThan(5);
    for (const file of closure.files) {
      expect(existsSync(join(REPO, file)), file).toBe(true);
      expect(
        copiedSources.some((source) => file === source || file.startsWith(`${source}/`)),
        `${file} is not copied into the image`,
      ).toBe(true);
    }
    for (const source of copiedSources) {
      expect(
        MANIFESTS.includes(source) ||
          [...closure.files].some((file) => file === source || file.startsWith(`${source}/`)),
        `${source} is copied but the server never imports it`,
      ).toBe(true);
    }
  });

  it("leaves every copied source in the build context (Dockerfile.dockerignore)", () => {
    const patterns = readFileSync(`${DOCKERFILE}.dockerignore`, "utf8")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith("#"));
    const needed = [...closure.files, ...MANIFESTS];
    for (const file of needed) {
      // An ignored folder drops everything below it.
      const paths = file.split("/").map((_, i, parts) => parts.slice(0, i + 1).join("/"));
      for (const pattern of patterns) {
        expect(
          paths.some((path) => matchesGlob(path, pattern)),
          `${file} is excluded by "${pattern}"`,
        ).toBe(false);
      }
    }
  });
});

describe("the serving image's dependency set (deploy/package.json)", () => {
  const deployPackage = readJson<PackageJson>("deploy/package.json");
  const rootPackage = readJson<PackageJson>("package.json");
  const deployLock = readJson<PackageLock>("deploy/package-lock.json");
  const rootLock = readJson<PackageLock>("package-lock.json");

  it("holds exactly the packages the server imports", () => {
    expect(Object.keys(deployPackage.dependencies).sort()).toEqual([...closure.packages].sort());
    expect(deployPackage.devDependencies).toBeUndefined();
  });

  it("asks for the root package.json's ranges and locks the versions the tests run", () => {
    for (const [name, range] of Object.entries(deployPackage.dependencies)) {
      expect(range, name).toBe(rootPackage.dependencies[name]);
      expect(deployLock.packages[`node_modules/${name}`]?.version, name).toBe(
        rootLock.packages[`node_modules/${name}`]?.version,
      );
    }
    // npm ci refuses a lock file out of step with package.json.
    expect(deployLock.packages[""].dependencies).toEqual(deployPackage.dependencies);
  });

  it("has no data-frame engine, charting or Actions runtime library in its lock", () => {
    const locked = Object.keys(deployLock.packages).join("\n");
    expect(locked).not.toMatch(/polars|vega|@actions\/(artifact|core)\b/);
  });
});
