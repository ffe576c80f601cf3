// actions/cache's main step under act: restore, and remember for the post step what to save.
import {
  cacheSpec,
  input,
  restoreCache,
  runStep,
  setRestoreOutputs,
  setVariable,
} from "./cache.ts";

await runStep(async () => {
  const spec = cacheSpec();
  const restored = await restoreCache(spec, input("lookup-only") === "true");
  await setRestoreOutputs(spec, restored);
  await setVariable("GITHUB_STATE", "exactHit", String(restored.exact));
  if (!restored.matchedKey && input("fail-on-cache-miss") === "true") {
    throw new Error(`no cache matches ${[spec.key, ...spec.restoreKeys].join(", ")}`);
  }
});
