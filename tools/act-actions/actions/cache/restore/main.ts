// actions/cache/restore under act.
import { cacheSpec, input, restoreCache, runStep, setRestoreOutputs } from "../cache.ts";

await runStep(async () => {
  const spec = cacheSpec();
  const restored = await restoreCache(spec, input("lookup-only") === "true");
  await setRestoreOutputs(spec, restored);
  if (!restored.matchedKey && input("fail-on-cache-miss") === "true") {
    throw new Error(`no cache matches ${[spec.key, ...spec.restoreKeys].join(", ")}`);
  }
});
