// How the container tests find their tools: under CI a missing tool fails the run; outside CI the
// tests skip and say why.
import { type Engine, resolveEngine } from "./engine.ts";

/** `found`, or null with a printed reason outside CI; throws under CI=true. */
export function requireTool<T>(suite: string, found: T | null, missing: string): T | null {
  if (found !== null) return found;
  if (process.env.CI === "true") throw new Error(`${suite}: ${missing}`);
  console.warn(`${suite}: skipped, ${missing}`);
  return null;
}

/** The container engine for `suite` (see requireTool). */
export async function engineForTests(suite: string): Promise<Engine | null> {
  return requireTool(
    suite,
    await resolveEngine(),
    "no container engine: install podman and runc (apt-get install podman runc), or docker with its daemon",
  );
}
