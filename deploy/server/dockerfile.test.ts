// No Docker engine here: these tests read the Dockerfile and compose file for their essentials,
// and check that every source file the server imports is copied into the image.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseEnv } from "./config.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const DOCKERFILE = readFileSync(join(REPO, "deploy", "Dockerfile"), "utf8");
const COMPOSE = readFileSync(join(REPO, "deploy", "compose.yaml"), "utf8");

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions with line continuations joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const joined = text
    .split("\n")
    .filter((line) => !/^\s*#/.test(line))
    .join("\n")
    .replace(/\\\n/g, " ");
  return joined
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(" ") };
    });
}

const steps = instructions(DOCKERFILE);
const all = (keyword: string) => steps.filter((step) => step.keyword === keyword);

/** The relative .ts imports reachable from `entry`, as repository paths. */
function importClosure(entry: string): Set<string> {
  const seen = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(join(REPO, file), "utf8");
    for (const match of source.matchAll(
      /^\s*(?:import|export)\s[^;]*?from\s+"(\.{1,2}\/[^"]+)"/gms,
    )) {
      pending.push(relative(REPO, resolve(REPO, dirname(file), match[1])));
    }
  }
  return seen;
}

describe("deploy/Dockerfile", () => {
  it("is multi-stage, every base image pinned to an exact version or digest", () => {
    const froms = all("FROM");
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) {
      const image = from.args.split(/\s+/)[0];
      expect(image, from.args).toMatch(/(@sha256:[0-9a-f]{64}$)|(^[\w./-]+:\d+\.\d+\.\d+[\w.-]*$)/);
      expect(from.args).toMatch(/\sAS\s+\w+/i);
    }
    const stages = froms.map((from) => from.args.split(/\s+AS\s+/i)[1]);
    expect(
      all("COPY").some((copy) => stages.some((stage) => copy.args.includes(`--from=${stage}`))),
    ).toBe(true);
  });

  it("runs as a non-root user, exposes the server port and checks /health", () => {
    const users = all("USER");
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)?.args).not.toMatch(/^(root|0)(:|$)/);
    const port = all("ENV")
      .map((env) => env.args.match(/PORT=(\d+)/)?.[1])
      .find(Boolean);
    expect(port).toBeDefined();
    expect(all("EXPOSE").map((expose) => expose.args)).toContain(port);
    const [healthcheck] = all("HEALTHCHECK");
    expect(healthcheck.args).toMatch(/\/health/);
    expect(all("ENV").some((env) => /HOST=0\.0\.0\.0/.test(env.args))).toBe(true);
    expect(all("CMD").at(-1)?.args).toMatch(/deploy\/server\/index\.ts/);
  });

  it("keeps the model outside the image, at a volume the server reads", () => {
    expect(
      all("VOLUME")
        .map((volume) => volume.args)
        .join(" "),
    ).toMatch(/\/models/);
    expect(all("ARG").some((arg) => arg.args.startsWith("MODEL_DIR="))).toBe(true);
    const modelDir =
      all("ARG")
        .find((arg) => arg.args.startsWith("MODEL_DIR="))
        ?.args.split("=")[1] ?? "";
    expect(parseEnv({ MODEL_DIR: modelDir }).modelDir.startsWith("/models/")).toBe(true);
  });

  it("copies every source file the server imports", () => {
    const copied = all("COPY")
      .filter((copy) => !copy.args.includes("--from="))
      .flatMap((copy) => copy.args.split(/\s+/).slice(0, -1));
    const needed = importClosure("deploy/server/index.ts");
    expect(needed.size).toBeGreaterThan(5);
    for (const file of needed) {
      expect(existsSync(join(REPO, file)), file).toBe(true);
      expect(
        copied.some((source) => file === source || file.startsWith(`${source}/`)),
        `${file} is not copied into the image`,
      ).toBe(true);
    }
  });
});

describe("deploy/compose.yaml", () => {
  it("builds the Dockerfile and mounts deploy/models read-only at /models", () => {
    expect(COMPOSE).toMatch(/dockerfile:\s*deploy\/Dockerfile/);
    expect(COMPOSE).toMatch(/-\s*\.\/models:\/models:ro/);
    expect(COMPOSE).toMatch(/MODEL_DIR:\s*\/models\/current/);
    expect(COMPOSE).toMatch(/"127\.0\.0\.1:8080:8080"/);
  });
});
