// `node tools/local-github/main.ts [--state-dir .local-github] [--port N]`: runs the local GitHub
// until SIGINT/SIGTERM and prints where it answers as one JSON line.
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Command } from "commander";
import { runProgram, settingsOf, UsageError, withSettings } from "../../lib/cli/program.ts";
import { text } from "../../lib/cli/settings.ts";
import { startLocalGitHub } from "./server.ts";

const port = (description: string) => ({
  ...text({ description, value: "N" }),
  parse: (value: string) => {
    if (!/^\d+$/.test(value) || Number(value) > 65535)
      throw new Error(`"${value}": expected a port number from 0 to 65535`);
    return Number(value);
  },
});

const SETTINGS = {
  "state-dir": text({
    description: "where the repository, releases, pull requests, settings and events are kept",
    value: "DIR",
    default: ".local-github",
  }),
  port: port("API port (default: a free one)"),
  "upload-port": port("port of the upload origin (default: a free one)"),
  host: text({ description: "address to listen on", value: "ADDR", default: "127.0.0.1" }),
  owner: text({ description: "repository owner", value: "NAME", default: "octo-org" }),
  repo: text({ description: "repository name", value: "NAME", default: "house-price" }),
};

const program = withSettings(new Command("node tools/local-github/main.ts"), SETTINGS)
  .description(
    "Run a local GitHub for one repository: GitHub's REST API (the endpoints this project uses), GraphQL tag listing, release uploads, and the trigger model that says which workflow runs GitHub would start.",
  )
  .addHelpText(
    "after",
    [
      "",
      "It prints {apiUrl, uploadUrl, repository, gitDir, cloneUrl, stateDir, tokenFile} and keeps",
      "the same in <state-dir>/server.json while it runs. Push to cloneUrl with a token as the",
      "password, or to gitDir (such pushes count as the owner's); use apiUrl as GITHUB_API_URL and",
      "the owner's token from tokenFile (never printed). Mint other tokens, change settings and",
      "read the runs GitHub would start through the /_local/ endpoints (tools/local-github/README.md).",
    ].join("\n"),
  )
  .action(async (_options, command: Command) => {
    const settings = settingsOf(SETTINGS, command);
    const local = await startLocalGitHub({
      stateDir: settings["state-dir"],
      port: settings.port,
      uploadPort: settings["upload-port"],
      host: settings.host,
      owner: settings.owner,
      repo: settings.repo,
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
  });

await runProgram(program, process.argv.slice(2), "local GitHub");
