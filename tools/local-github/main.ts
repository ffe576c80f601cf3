// `node tools/local-github/main.ts [--state-dir .local-github] [--port N]`: runs the local GitHub
// until SIGINT/SIGTERM and prints where it answers as one JSON line.
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Command, runCommand, UsageError } from "../../lib/cli/command.ts";
import { startLocalGitHub } from "./server.ts";

const command: Command = {
  name: "tools/local-github/main.ts",
  summary:
    "Run a local GitHub for one repository: GitHub's REST API (the endpoints this project uses), GraphQL tag listing, release uploads, and the trigger model that says which workflow runs GitHub would start.",
  options: {
    "state-dir": {
      type: "string",
      value: "DIR",
      default: ".local-github",
      description: "where the repository, releases, pull requests, settings and events are kept",
    },
    port: { type: "string", value: "N", description: "API port (default: a free one)" },
    "upload-port": {
      type: "string",
      value: "N",
      description: "port of the upload origin (default: a free one)",
    },
    host: {
      type: "string",
      value: "ADDR",
      default: "127.0.0.1",
      description: "address to listen on",
    },
    owner: { type: "string", value: "NAME", default: "octo-org", description: "repository owner" },
    repo: { type: "string", value: "NAME", default: "house-price", description: "repository name" },
  },
  details: [
    "It prints {apiUrl, uploadUrl, repository, gitDir, cloneUrl, stateDir, tokenFile} and keeps",
    "the same in <state-dir>/server.json while it runs. Push to cloneUrl with a token as the",
    "password, or to gitDir (such pushes count as the owner's); use apiUrl as GITHUB_API_URL and",
    "the owner's token from tokenFile (never printed). Mint other",
    "tokens, change settings and read the runs GitHub would start through the /_local/ endpoints",
    "(tools/local-github/README.md).",
  ].join("\n"),
  async run(values) {
    const port = (name: string) => {
      const text = values[name] as string | undefined;
      if (text === undefined) return undefined;
      if (!/^\d+$/.test(text) || Number(text) > 65535) {
        throw new UsageError(`--${name} "${text}": expected a port number from 0 to 65535`);
      }
      return Number(text);
    };
    const stateDir = values["state-dir"] as string;
    const local = await startLocalGitHub({
      stateDir,
      port: port("port"),
      uploadPort: port("upload-port"),
      host: values.host as string,
      owner: values.owner as string,
      repo: values.repo as string,
      onViolation: (violation) =>
        console.error(`local GitHub: response differs from GitHub's API: ${violation}`),
    }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") {
        throw new UsageError(
          `port in use: ${error.message}; pick another with --port, or stop what uses it`,
        );
      }
      throw error;
    });
    const info = {
      apiUrl: local.apiUrl,
      uploadUrl: local.uploadUrl,
      repository: local.repository,
      gitDir: local.gitDir,
      cloneUrl: local.cloneUrl,
      stateDir: local.stateDir,
      tokenFile: join(local.stateDir, "owner-token"),
      pid: process.pid,
    };
    await writeFile(join(local.stateDir, "server.json"), `${JSON.stringify(info, null, 2)}\n`);
    console.log(JSON.stringify(info));
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.once(signal, () => {
        void rm(join(local.stateDir, "server.json"), { force: true })
          .then(() => local.close())
          .then(() => process.exit(0));
      });
    }
  },
};

try {
  await runCommand(command, process.argv.slice(2), "node");
} catch (error) {
  console.error(error instanceof UsageError ? error.message : (error as Error).stack);
  process.exit(error instanceof UsageError ? 2 : 1);
}
