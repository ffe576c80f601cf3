// deploy/compose.yaml checked by compose-go, the loader Docker Compose itself uses (schema of the
// Compose specification, interpolation, references), then its resolved project checked against
// what the image and the server expect.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { imageFacts } from "../tools/container/dockerfile.ts";
import { requireTool } from "../tools/container/test-tools.ts";
import { parseEnv } from "./server/config.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const COMPOSE_FILE = join(REPO, "deploy", "compose.yaml");
const CHECKER_DIR = join(REPO, "tools", "container", "compose-config");
const run = promisify(execFile);

const go = requireTool(
  "compose file",
  await run("go", ["version"]).then(
    () => "go",
    () => null,
  ),
  "Go is not installed (compose-go, in tools/container/compose-config, validates the file)",
);

interface ComposeService {
  build: { context: string; dockerfile: string };
  environment: Record<string, string>;
  secrets: { source: string; target: string }[];
  volumes: { type: string; source: string; target: string; read_only?: boolean }[];
  ports: { host_ip: string; target: number; published: string }[];
  user: string;
  read_only: boolean;
  tmpfs: string[];
  cap_drop: string[];
  security_opt: string[];
  healthcheck: { test: string[] };
}
interface ComposeProject {
  services: Record<string, ComposeService>;
  secrets: Record<string, { file: string }>;
  volumes: Record<string, unknown>;
}

describe.skipIf(go === null)("deploy/compose.yaml", () => {
  let dir: string;
  let checker: string;
  /** Loads Compose files with compose-go; resolves to its exit code, project and message. */
  const load = (files: string[], env: Record<string, string> = {}) =>
    run(
      checker,
      files.flatMap((file) => ["-f", file]),
      {
        cwd: REPO,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      },
    ).then(
      ({ stdout }) => ({ code: 0, project: JSON.parse(stdout) as ComposeProject, message: "" }),
      (error: { code?: number; stderr?: string }) => ({
        code: error.code ?? -1,
        project: null,
        message: error.stderr ?? "",
      }),
    );

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "compose-"));
    checker = join(dir, "compose-config");
    // The first build downloads compose-go through the Go module proxy; later ones are cached.
    await run(go as string, ["build", "-o", checker, "."], { cwd: CHECKER_DIR });
  }, 300_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("rejects what breaks the specification, so a pass means something", async () => {
    const bad = join(dir, "bad.yaml");
    await writeFile(bad, "services:\n  a:\n    image: x\n    read_only: maybe\n    ulimit: 3\n");
    const result = await load([bad]);
    expect(result.code).toBe(1);
    expect(result.message).toMatch(/read_only|ulimit/);
  });

  it("needs REGISTRY_REPOSITORY and says so", async () => {
    const result = await load([COMPOSE_FILE]);
    expect(result.code).toBe(1);
    expect(result.message).toMatch(/REGISTRY_REPOSITORY/);
  });

  it("is a valid Compose file running the image in registry mode, the token from a secret file", async () => {
    const { code, project, message } = await load([COMPOSE_FILE], {
      REGISTRY_REPOSITORY: "octo-org/house-price",
    });
    expect(message).toBe("");
    expect(code).toBe(0);
    const service = (project as ComposeProject).services.prediction;
    expect(service.build).toEqual({
      context: REPO.replace(/\/$/, ""),
      dockerfile: "deploy/Dockerfile",
    });
    const env = service.environment;
    expect(env).toMatchObject({
      MODEL_SOURCE: "registry",
      REGISTRY_REPOSITORY: "octo-org/house-price",
    });

    // The token: only a path in the environment, to a secret file git ignores.
    const secret = service.secrets.find((entry) => entry.target === env.REGISTRY_TOKEN_FILE);
    expect(secret, "REGISTRY_TOKEN_FILE is not a mounted secret").toBeDefined();
    const file = (project as ComposeProject).secrets[secret?.source as string].file;
    expect(file).toBe(join(REPO, "deploy", "secrets", "github_token"));
    await expect(
      run("git", ["check-ignore", "--quiet", file], { cwd: REPO }),
    ).resolves.toBeDefined();
    expect(Object.keys(env).filter((name) => /TOKEN$/.test(name))).toEqual([]);

    // Downloaded bundles in a named volume, where the service keeps its cache.
    expect(service.volumes).toContainEqual(
      expect.objectContaining({ type: "volume", target: env.MODEL_CACHE_DIR }),
    );
    expect(Object.keys((project as ComposeProject).volumes)).toContain(
      service.volumes.find((volume) => volume.target === env.MODEL_CACHE_DIR)?.source,
    );
  });

  it("runs it as the image expects: its user and port, read-only, no capabilities", async () => {
    const { project } = await load([COMPOSE_FILE], { REGISTRY_REPOSITORY: "octo-org/house-price" });
    const service = (project as ComposeProject).services.prediction;
    const facts = imageFacts();
    expect(service.user).toBe(facts.user);
    expect(service.ports).toEqual([
      expect.objectContaining({ host_ip: "127.0.0.1", target: facts.port }),
    ]);
    expect(service.read_only).toBe(true);
    expect(service.tmpfs).toContain("/tmp");
    expect(service.cap_drop).toEqual(["ALL"]);
    expect(service.security_opt).toContain("no-new-privileges:true");
    expect(service.healthcheck.test.join(" ")).toContain(`127.0.0.1:${facts.port}/ready`);
    // The server reads its settings from this environment (the token from the mounted file,
    // here one made by the test); a bad value would stop it before it listens.
    const tokenFile = join(dir, "github_token");
    await writeFile(tokenFile, "github_pat_test\n");
    const config = parseEnv({ ...service.environment, REGISTRY_TOKEN_FILE: tokenFile });
    expect(config.source).toMatchObject({
      kind: "registry",
      repository: "octo-org/house-price",
      token: "github_pat_test",
      cacheDir: service.environment.MODEL_CACHE_DIR,
    });
  });
});
