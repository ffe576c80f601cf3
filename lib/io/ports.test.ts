// Free ports for servers that start later, in another process.
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { freePort } from "./ports.ts";

describe("freePort", () => {
  it("takes free ports below the kernel's ephemeral range, which connections cannot take first", async () => {
    const range = await readFile("/proc/sys/net/ipv4/ip_local_port_range", "utf8").catch(
      () => null,
    );
    const ephemeral = range === null ? null : Number(range.trim().split(/\s+/)[0]);
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    for (const port of ports) {
      if (ephemeral !== null) {
        expect(port).toBeGreaterThanOrEqual(10_000);
        expect(port).toBeLessThan(ephemeral);
      }
      // Free: a server can listen there now.
      const server = createServer();
      server.listen(port, "127.0.0.1");
      await once(server, "listening");
      server.close();
    }
    // Many ports, not one handed out again and again.
    expect(new Set(ports).size).toBeGreaterThan(15);
  });
});
