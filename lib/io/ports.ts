// Free TCP ports on loopback, for servers that start later (act's artifact server, a container,
// a service under test).
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";

/** Ports freePort takes from, below the kernel's ephemeral range. */
const FREE_PORTS_FROM = 10_000;

/**
 * A free TCP port on 127.0.0.1, for a server that starts later, often in another process (act's
 * artifact server, a container). Where the kernel says which ports it hands out on its own
 * (Linux: to every `listen(0)` and every outgoing connection), the port comes from below that
 * range: one from inside it can be taken by any connection before the server binds it, and act
 * then stops with "bind: address already in use" (seen once in CI, with tests running side by
 * side).
 */
export async function freePort(): Promise<number> {
  const ephemeral = await readFile("/proc/sys/net/ipv4/ip_local_port_range", "utf8").then(
    (text) => Number(text.trim().split(/\s+/)[0]),
    () => Number.NaN,
  );
  if (ephemeral > FREE_PORTS_FROM + 1000) {
    for (let attempt = 0; attempt < 20; attempt++) {
      const port = FREE_PORTS_FROM + Math.floor(Math.random() * (ephemeral - FREE_PORTS_FROM));
      if ((await listenOnce(port)) !== null) return port;
    }
  }
  const port = await listenOnce(0);
  if (port === null) throw new Error("no free TCP port on 127.0.0.1");
  return port;
}

/** Listens on `port` of 127.0.0.1 (0: any) and closes again; the port, or null when it is taken. */
function listenOnce(port: number): Promise<number | null> {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.once("error", () => resolvePort(null));
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      const bound = typeof address === "object" && address ? address.port : null;
      server.close(() => resolvePort(bound));
    });
  });
}
