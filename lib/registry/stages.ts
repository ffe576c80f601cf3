// Stage assignments as GTO tags: assign (one version holds a stage), unassign, deprecate. Each
// tag carries the next #N counter; a counter taken by a racing run is retried with the next one.
import { loadState, type RegistryContext } from "./context.ts";
import { type RegistryState, resolveVersion, stageHolder } from "./state.ts";
import {
  assertName,
  assignmentTag,
  deregistrationTag,
  formatTagMessage,
  nextCounter,
  unassignmentTag,
} from "./tags.ts";
import type { ModelVersion, RegistryEvent, StageAssignment } from "./types.ts";

/** Creates a tag named by the next #N counter, retrying with a fresh counter when taken. */
async function createCountedTag(
  ctx: RegistryContext,
  state: RegistryState,
  tagName: (counter: number) => string,
  commit: string,
  message: string,
): Promise<string> {
  let names = state.tagNames;
  for (let attempt = 1; attempt <= ctx.maxAttempts; attempt++) {
    const candidate = tagName(nextCounter(ctx.name, names));
    if (await ctx.backend.createTag({ name: candidate, commit, message, date: ctx.now() }))
      return candidate;
    names = (await ctx.backend.listTags(ctx.name)).map((tag) => tag.name);
  }
  throw new Error(
    `${ctx.name}: could not create a ${tagName(0)} tag: ${ctx.maxAttempts} counters were taken in a row`,
  );
}

function eventFor(ctx: RegistryContext, state: RegistryState, tag: string): RegistryEvent {
  const event = state.events.find((candidate) => candidate.tag === tag);
  if (!event)
    throw new Error(
      `${ctx.name}: tag ${tag} was created but is not listed by ${ctx.backend.location}`,
    );
  return event;
}

/** Versions that hold an assignment to `stage` not yet undone, except `keep`. GTO counts all of
 * them as in the stage, so each needs its own unassignment for the stage to have one holder. */
function openAssignments(state: RegistryState, stage: string, keep: string | null): ModelVersion[] {
  const active = new Set<string>();
  for (const event of state.events) {
    if (event.stage !== stage || !event.version) continue;
    if (event.kind === "assignment") active.add(event.version);
    if (event.kind === "unassignment") active.delete(event.version);
  }
  return state.versions.filter(
    (version) => active.has(version.version) && version.version !== keep && !version.deprecated,
  );
}

async function unassignVersion(
  ctx: RegistryContext,
  state: RegistryState,
  stage: string,
  version: ModelVersion,
): Promise<string> {
  return createCountedTag(
    ctx,
    state,
    (counter) => unassignmentTag(ctx.name, stage, counter),
    version.commit,
    formatTagMessage(
      `Unassigning stage '${stage}' to artifact '${ctx.name}' version '${version.version}'`,
      { version: version.version, stage },
    ),
  );
}

/** Unassigns `stage` from every version still holding it except `keep`; returns the new tags. */
async function unassignOthers(
  ctx: RegistryContext,
  stage: string,
  keep: string | null,
): Promise<string[]> {
  const tags: string[] = [];
  for (let attempt = 1; attempt <= ctx.maxAttempts; attempt++) {
    const state = await loadState(ctx);
    const open = openAssignments(state, stage, keep);
    if (open.length === 0) return tags;
    for (const version of open) tags.push(await unassignVersion(ctx, state, stage, version));
  }
  throw new Error(`${ctx.name}: stage ${stage} kept gaining assignments while unassigning it`);
}

/** Assigns `stage` to `ref` and unassigns whichever version held it, so one version holds a stage. */
export async function assignStage(
  ctx: RegistryContext,
  ref: string,
  stage: string,
): Promise<StageAssignment> {
  assertName(stage, "stage");
  const state = await loadState(ctx);
  if (state.deprecated)
    throw new Error(`model ${ctx.name} is deprecated; register a new version first`);
  const version = resolveVersion(state, ref);
  if (version.deprecated) {
    throw new Error(
      `${version.tag} is deprecated (deregistered) and cannot be assigned to ${stage}`,
    );
  }
  const holder = stageHolder(state, stage);
  if (holder?.version.version !== version.version) {
    await createCountedTag(
      ctx,
      state,
      (counter) => assignmentTag(ctx.name, stage, counter),
      version.commit,
      formatTagMessage(
        `Assigning stage ${stage} to artifact ${ctx.name} version ${version.version}`,
        { version: version.version, stage, previous: holder?.version.version ?? null },
      ),
    );
  }
  await unassignOthers(ctx, stage, version.version);
  const assigned = stageHolder(await loadState(ctx), stage);
  if (!assigned)
    throw new Error(
      `${ctx.name}: assigned ${stage} to ${version.version} but no version holds it now`,
    );
  return assigned;
}

/** Unassigns `stage` from whichever version holds it; null when none did. */
export async function unassignStage(
  ctx: RegistryContext,
  stage: string,
): Promise<RegistryEvent | null> {
  assertName(stage, "stage");
  const holder = stageHolder(await loadState(ctx), stage);
  if (!holder) return null;
  const tags = await unassignOthers(ctx, stage, null);
  return tags.length > 0 ? eventFor(ctx, await loadState(ctx), tags[0]) : null;
}

/** Deregisters a version (GTO `name@vX.Y.Z!#N`): never latest, never assigned again. */
export async function deprecateVersion(ctx: RegistryContext, ref: string): Promise<RegistryEvent> {
  const state = await loadState(ctx);
  const version = resolveVersion(state, ref);
  const already = state.events.find(
    (event) => event.kind === "deregistration" && event.version === version.version,
  );
  if (already) return already;
  const tag = await createCountedTag(
    ctx,
    state,
    (counter) => deregistrationTag(ctx.name, version.version, counter),
    version.commit,
    formatTagMessage(`Deregistering artifact ${ctx.name} version ${version.version}`, {
      version: version.version,
    }),
  );
  return eventFor(ctx, await loadState(ctx), tag);
}
