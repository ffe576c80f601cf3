// How container tests find their engine: under CI a missing engine fails the test run; outside CI
// the tests skip and say why.
import { type Engine, resolveEngine } from "./engine.ts";

/** The engine for `suite`, or null (with a printed reason) outside CI; throws under CI=true. */
export async function engineForTests(suite: string): Promise<Engine | null> {
  const engine = await resolveEngine();
  if (engine) return engine;
  const reason =
    "no container engine: install podman (apt-get install podman runc) or docker with its daemon, or set CONTAINER_ENGINE";
  if (process.env.CI === "true") throw new Error(`${suite}: ${reason}`);
  console.warn(`${suite}: skipped, ${reason}`);
  return null;
}
