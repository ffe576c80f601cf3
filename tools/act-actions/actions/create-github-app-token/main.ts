// act-only stand-in for actions/create-github-app-token: one request to the local GitHub stand-in,
// whose token endpoint plays the part of GitHub's App installation flow. Node's built-ins only.
import { appendFile } from "node:fs/promises";

function input(name: string): string {
  return (process.env[`INPUT_${name.toUpperCase()}`] ?? "").trim();
}

/** `permission-<name>: <level>` inputs as the API's permissions object (`pull_requests: write`). */
function permissions(): Record<string, string> {
  const prefix = "INPUT_PERMISSION-";
  return Object.fromEntries(
    Object.entries(process.env)
      .filter(([name, value]) => name.startsWith(prefix) && value?.trim())
      .map(([name, value]) => [
        name.slice(prefix.length).toLowerCase().replaceAll("-", "_"),
        (value as string).trim(),
      ]),
  );
}

async function main() {
  const app = input("app-id") || input("client-id");
  const key = input("private-key");
  if (!app) throw new Error("give app-id or client-id");
  if (!key) throw new Error("give private-key");
  // Masked before anything else is printed: the key and, below, the token never reach the log.
  console.log(`::add-mask::${key}`);
  const api = (input("github-api-url") || process.env.GITHUB_API_URL || "").replace(/\/$/, "");
  if (!api) throw new Error("github-api-url is empty and GITHUB_API_URL is not set");
  const response = await fetch(`${api}/_local/tokens`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${key}`,
      "content-type": "application/json",
      "user-agent": "create-github-app-token-act-stand-in",
    },
    body: JSON.stringify({ kind: "app", app, permissions: permissions() }),
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(
      `POST ${api}/_local/tokens for App ${app}: HTTP ${response.status} ${text.replaceAll(key, "***")}`,
    );
  }
  const minted = JSON.parse(text) as { token: string; app?: string; installation_id?: number };
  console.log(`::add-mask::${minted.token}`);
  const outputs = {
    token: minted.token,
    "installation-id": String(minted.installation_id ?? 1),
    "app-slug": minted.app ?? app,
  };
  await appendFile(
    process.env.GITHUB_OUTPUT as string,
    Object.entries(outputs)
      .map(([name, value]) => `${name}=${value}\n`)
      .join(""),
  );
  console.log(`Minted an installation token for App ${outputs["app-slug"]}`);
}

try {
  await main();
} catch (error) {
  console.log(
    `::error::create-github-app-token (act stand-in): ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exitCode = 1;
}
