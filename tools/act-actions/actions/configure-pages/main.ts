// act-only stand-in for actions/configure-pages: the default Pages address of a project site.
import { join } from "node:path";
import { pathToFileURL } from "node:url";

// The shared helpers live beside the stand-ins in the checked-out workspace (act copies only this
// folder to run it).
const { pagesUrl, runStandIn, setOutput } = (await import(
  pathToFileURL(
    join(
      process.env.GITHUB_WORKSPACE ?? process.cwd(),
      "tools/act-actions/actions/pages-stand-in.ts",
    ),
  ).href
)) as typeof import("../pages-stand-in.ts");

await runStandIn(async () => {
  const url = pagesUrl();
  const basePath = url.pathname.replace(/\/$/, "");
  await setOutput("base_url", `${url.origin}${basePath}`);
  await setOutput("origin", url.origin);
  await setOutput("host", url.host);
  await setOutput("base_path", basePath);
  console.log(`Pages site address (act stand-in): ${url.href}`);
});
