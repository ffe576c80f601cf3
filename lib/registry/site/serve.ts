// Serves a built site over HTTP, as GitHub Pages would: static files, `index.html` for a folder,
// optionally under a sub-path (Pages serves a project's site at /<repo>/).
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";

export interface SiteServer {
  /** The site's address, ending in `/`. */
  url: string;
  close(): Promise<void>;
}

export interface ServeOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Where the site is mounted, e.g. `/house-price/` (default `/`). */
  basePath?: string;
}

/** Serves the site in `dir` on `host:port` (default 127.0.0.1, a free port). */
export async function serveSite(dir: string, options: ServeOptions = {}): Promise<SiteServer> {
  const host = options.host ?? "127.0.0.1";
  const base = `/${(options.basePath ?? "/").replace(/^\/+|\/+$/g, "")}/`.replace(/^\/\/$/, "/");
  const app = express();
  app.disable("x-powered-by");
  app.use(base, express.static(dir, { index: "index.html", fallthrough: true }));
  const server = await new Promise<Server>((resolve, reject) => {
    const listening = app.listen(options.port ?? 0, host, (error?: Error) =>
      error ? reject(error) : resolve(listening),
    );
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}${base}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
