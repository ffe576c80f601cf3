// `npm run serve`: reads the environment, listens, and shuts down gracefully on SIGTERM/SIGINT.
import { parseEnv, type ServerConfig } from "./config.ts";
import { jsonLogger } from "./log.ts";
import { startServer } from "./server.ts";

let config: ServerConfig;
try {
  config = parseEnv(process.env);
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(2);
}

try {
  const running = await startServer({ ...config, log: jsonLogger });
  jsonLogger("info", "listening", {
    url: running.url,
    modelDir: running.service.models.location,
    modelVersion: running.service.models.current?.version ?? null,
    adminReload: config.adminToken !== undefined,
  });
  const shutdown = async (signal: NodeJS.Signals) => {
    jsonLogger("info", "shutting down", { signal });
    await running.close();
    jsonLogger("info", "stopped", { signal });
    process.exit(0);
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
} catch (error) {
  jsonLogger("error", "the server failed to start", { error: (error as Error).message });
  process.exit(1);
}
