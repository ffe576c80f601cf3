import { buildRegistryState, type RegistryState } from "./state.ts";
import type { RegistryBackend } from "./types.ts";

/** What the registry's parts share: the backend, the model's name, the clock and the state. */
export interface RegistryContext {
  backend: RegistryBackend;
  /** The model's name (GTO artifact), e.g. `house-price`. */
  name: string;
  /** Clock for tag dates; tests step it to ask "which version was in production at T". */
  now: () => Date;
  /** How many times a taken version number or #N counter is retried with the next one. */
  maxAttempts: number;
}

/** The registry as its tags say now. */
export async function loadState(ctx: RegistryContext): Promise<RegistryState> {
  return buildRegistryState(ctx.name, await ctx.backend.listTags(ctx.name));
}
