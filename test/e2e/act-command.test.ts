// The act command the wrapper builds, and the artifact proxy it puts in front of act's server.
import { once } from "node:events";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { actEnvironment, actInvocation, startArtifactProxy } from "../../.github/act.ts";
import { freePort } from "../../lib/io/ports.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

describe("actInvocation", () => {
  it("runs jobs on the host with the artifact server, run id, registry and data; the token only in the environment", async () => {
    const token = "ghs_secret-token-value";
    const invocation = await actInvocation({
      workflow: "pipeline",
      inputs: { trees: "20", shards: "2" },
      repoDir: REPO,
      artifactDir: "/tmp/artifacts",
      runId: "4242",
      act: "/opt/act",
      github: { apiUrl: "http://127.0.0.1:9", repository: "octo-org/house-price", token },
      data: "/data/housing.csv",
    });
    const command = invocation.args.join(" ");
    expect(invocation.command).toBe("/opt/act");
    expect(invocation.args[0]).toBe("workflow_dispatch");
    expect(command).toContain("--workflows .github/workflows/pipeline.yml");
    expect(command).toContain("--platform ubuntu-latest=-self-hosted");
    expect(command).toContain(
      "--artifact-server-path /tmp/artifacts --artifact-server-addr 127.0.0.1",
    );
    expect(command).toContain(`--artifact-server-port ${invocation.artifactPort}`);
    expect(command).toContain("--env GITHUB_RUN_ID=4242");
    expect(command).toContain("--env GITHUB_API_URL=http://127.0.0.1:9");
    expect(command).toContain("--env GITHUB_REPOSITORY=octo-org/house-price");
    expect(command).toContain("--env HOUSING_CSV=/data/housing.csv");
    expect(command).toContain("--secret GITHUB_TOKEN");
    // actions/cache's stand-in uses act's cache server, on loopback only.
    expect(command).toContain("--cache-server-addr 127.0.0.1");
    expect(command).not.toContain("--no-cache-server");
    // The remote actions of the setup composite map to their act stand-ins.
    expect(command).toMatch(
      /--local-repository actions\/setup-node@[0-9a-f]{40}=\S+\/tools\/act-actions\/actions\/setup-node/,
    );
    expect(command).not.toContain(token);
    expect(invocation.env.GITHUB_TOKEN).toBe(token);
    expect(invocation.env.ACTIONS_RUNTIME_URL).toBe(
      `http://127.0.0.1:${invocation.artifactProxyPort}/`,
    );
    expect(invocation.eventFile).toBe("/tmp/artifacts/event-4242.json");
    expect(invocation.event).toMatchObject({ inputs: { trees: "20", shards: "2" } });
  });

  it("refuses inputs on an event other than workflow_dispatch", async () => {
    await expect(
      actInvocation({
        workflow: "deploy",
        event: "push",
        inputs: { version: "v1.0.0" },
        repoDir: REPO,
        artifactDir: "/tmp/artifacts",
        act: "/opt/act",
      }),
    ).rejects.toThrow("inputs (version) need the workflow_dispatch event, not push");
  });
});

describe("actEnvironment", () => {
  it("drops what a runner defines and puts the given Node first on PATH", () => {
    const env = actEnvironment(
      {
        PATH: "/repo/node_modules/.bin:/usr/local/bin:/usr/bin",
        HOME: "/root",
        GITHUB_ACTIONS: "true",
        ACTIONS_RUNTIME_TOKEN: "outer",
        RUNNER_TEMP: "/outer",
        npm_lifecycle_event: "test",
        VITEST: "true",
      },
      dirname(process.execPath),
      undefined,
    );
    expect(env).toEqual({
      PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin`,
      HOME: "/root",
    });
  });
});

describe("startArtifactProxy", () => {
  it("drops mime_type from CreateArtifact, restores the sig padding and passes the rest through", async () => {
    const seen: { url: string; body: string; host: string }[] = [];
    const upstream = createServer(async (req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      seen.push({
        url: req.url ?? "",
        body: Buffer.concat(chunks).toString("utf8"),
        host: req.headers.host ?? "",
      });
      res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    });
    upstream.listen(0, "127.0.0.1");
    await once(upstream, "listening");
    const upstreamPort = (upstream.address() as AddressInfo).port;
    const port = await freePort();
    const proxy = await startArtifactProxy(port, upstreamPort);
    try {
      const base = `http://127.0.0.1:${port}/twirp/github.actions.results.api.v1.ArtifactService`;
      const created = await fetch(`${base}/CreateArtifact`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "ingest", mime_type: "application/zip", version: 7 }),
      });
      expect(await created.json()).toEqual({ ok: true });
      const sig = "N6l19UlG6qgNB68PE0bvL913es7ubFDV-DHowbS5Dlw";
      await fetch(`${base}/UploadArtifact?sig=${sig}&artifactName=ingest&comp=block`, {
        method: "PUT",
        body: "zip bytes",
      });
      expect(JSON.parse(seen[0].body)).toEqual({ name: "ingest", version: 7 });
      // act builds its signed URLs from the Host header: it must name the proxy.
      expect(seen[0].host).toBe(`127.0.0.1:${port}`);
      const upload = new URL(seen[1].url, "http://x");
      expect(upload.searchParams.get("sig")).toBe(`${sig}=`);
      expect(upload.searchParams.get("comp")).toBe("block");
      expect(seen[1].body).toBe("zip bytes");
    } finally {
      await proxy.close();
      upstream.close();
    }
  });
});
