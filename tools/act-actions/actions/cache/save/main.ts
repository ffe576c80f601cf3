// actions/cache/save under act.
import { cacheSpec, runStep, saveCache } from "../cache.ts";

await runStep(async () => {
  await saveCache(cacheSpec());
});
