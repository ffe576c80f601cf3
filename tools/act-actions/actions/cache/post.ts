// actions/cache's post step under act: save the paths unless the key already matched exactly.
import { cacheSpec, runStep, saveCache } from "./cache.ts";

await runStep(async () => {
  if (process.env.STATE_exactHit === "true") {
    console.log("Cache hit on the primary key: not saving");
    return;
  }
  await saveCache(cacheSpec());
});
