// The engine switch, the build's arguments, and how the local base finds its Debian mirror and
// versions. deploy/image.test.ts builds and runs the images for real.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseImageInputs, baseImageTag, debianMirror, NPM_VERSION } from "./base-image.ts";
import { imageFacts } from "./dockerfile.ts";
import { CONTAINERS_CONF, engineEnv, resolveEngine } from "./engine.ts";
import { baseChoice, buildArguments, buildCaFile } from "./service-image.ts";
import { requireTool } from "./test-tools.ts";

describe("the engine switch", () => {
  it("takes CONTAINER_ENGINE when set and names a bad value", async () => {
    expect(await resolveEngine({ CONTAINER_ENGINE: "podman" })).toBe("podman");
    expect(await resolveEngine({ CONTAINER_ENGINE: "docker" })).toBe("docker");
    await expect(resolveEngine({ CONTAINER_ENGINE: "lxc" })).rejects.toThrow(
      'CONTAINER_ENGINE: "lxc" is not supported; expected one of docker, podman',
    );
  });

  it("gives podman the project's containers.conf, unless one is already named", async () => {
    expect(engineEnv("podman", {}).CONTAINERS_CONF).toBe(CONTAINERS_CONF);
    expect(engineEnv("podman", { CONTAINERS_CONF: "/etc/mine.conf" }).CONTAINERS_CONF).toBe(
      "/etc/mine.conf",
    );
    expect(engineEnv("docker", {}).CONTAINERS_CONF).toBeUndefined();
    const conf = await readFile(CONTAINERS_CONF, "utf8");
    expect(conf).toMatch(/default_ulimits = \["nofile=4096:4096", "nproc=4096:4096"\]/);
    expect(conf).toMatch(/runtime = "runc"/);
  });

  it("builds on the local base with podman and the official one with docker, unless told", () => {
    expect(baseChoice("podman", {})).toBe("local");
    expect(baseChoice("docker", {})).toBe("official");
    expect(baseChoice("docker", { CONTAINER_BASE: "local" })).toBe("local");
    expect(() => baseChoice("podman", { CONTAINER_BASE: "alpine" })).toThrow(
      'CONTAINER_BASE: "alpine" is not supported; expected local or official',
    );
  });
});

describe("a missing tool in the container tests", () => {
  it("fails the run under CI=true and is skipped, saying why, elsewhere", () => {
    const ci = process.env.CI;
    try {
      process.env.CI = "true";
      expect(() => requireTool("suite", null, "podman is not installed")).toThrow(
        "suite: podman is not installed",
      );
      expect(requireTool("suite", "podman", "unused")).toBe("podman");
      process.env.CI = "";
      expect(requireTool("suite", null, "podman is not installed")).toBeNull();
    } finally {
      if (ci === undefined) delete process.env.CI;
      else process.env.CI = ci;
    }
  });
});

describe("the build's arguments", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "build-args-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("hand the CA bundle over as a build secret only when the file exists", async () => {
    const ca = join(dir, "ca.crt");
    expect(buildCaFile({ NODE_EXTRA_CA_CERTS: ca })).toBeNull();
    await writeFile(ca, "-----BEGIN CERTIFICATE-----\n");
    expect(buildCaFile({ NODE_EXTRA_CA_CERTS: ca })).toBe(ca);
    expect(buildCaFile({ NODE_EXTRA_CA_CERTS: "/nowhere", CONTAINER_BUILD_CA: ca })).toBe(ca);
    const args = buildArguments("docker", { tag: "t", caFile: ca });
    expect(args.join(" ")).toContain(`--secret id=ca,src=${ca}`);
    // Only the secret mount sees the file: no build argument or label carries it.
    expect(args.filter((arg) => arg.includes(ca))).toEqual([`id=ca,src=${ca}`]);
  });

  it("give podman the docker format (HEALTHCHECK), the ignore file and the host network", () => {
    const podman = buildArguments("podman", { tag: "t", baseImage: "localhost/base:1" }).join(" ");
    expect(podman).toMatch(/--format docker/);
    expect(podman).toMatch(/--ignorefile \S+deploy\/Dockerfile\.dockerignore/);
    expect(podman).toMatch(/--network host/);
    expect(podman).toMatch(/--build-arg NODE_IMAGE=localhost\/base:1/);
    const docker = buildArguments("docker", { tag: "t" }).join(" ");
    expect(docker).not.toMatch(/--format|--ignorefile|--network|NODE_IMAGE/);
  });
});

describe("the local Node base", () => {
  it("takes the Node version and Debian release from the Dockerfile's official image", () => {
    const inputs = baseImageInputs(imageFacts().nodeImage, "x64");
    expect(inputs).toEqual({
      nodeVersion: expect.stringMatching(/^24\.\d+\.\d+$/),
      suite: "bookworm",
      npmVersion: NPM_VERSION,
      arch: "x64",
    });
    expect(() => baseImageInputs("node:24-alpine")).toThrow(/NODE_IMAGE: "node:24-alpine"/);
  });

  it("is tagged by its inputs, so a change of version builds a new one", async () => {
    const inputs = baseImageInputs(imageFacts().nodeImage, "x64");
    const tag = await baseImageTag(inputs);
    expect(tag).toMatch(/^localhost\/house-price-node-base:24\.\d+\.\d+-bookworm-[0-9a-f]{12}$/);
    expect(await baseImageTag(inputs)).toBe(tag);
    expect(await baseImageTag({ ...inputs, npmVersion: "0.0.1" })).not.toBe(tag);
  });

  it("finds the Debian mirror in apt's sources, in either format", () => {
    const deb822 = [
      "Types: deb",
      "URIs: http://mirror.invalid/debian",
      "Suites: bookworm bookworm-updates",
      "Components: main",
      "",
      "Types: deb",
      "URIs: http://mirror.invalid/debian-security",
      "Suites: bookworm-security",
    ].join("\n");
    expect(debianMirror([deb822], "bookworm")).toBe("http://mirror.invalid/debian");
    const oneLine =
      "# a comment\ndeb [signed-by=/k.gpg] http://other.invalid/debian bookworm main\n";
    expect(debianMirror(["", oneLine], "bookworm")).toBe("http://other.invalid/debian");
    // An Ubuntu runner's sources name no Debian release.
    expect(debianMirror(["deb http://ubuntu.invalid/ubuntu noble main\n"], "bookworm")).toBeNull();
  });
});
