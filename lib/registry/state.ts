import { lineageFromTagData } from "./lineage.ts";
import {
  bumpSemVer,
  compareSemVer,
  FIRST_VERSION,
  formatSemVer,
  type ParsedTag,
  parseSemVer,
  parseTag,
  parseTagMessage,
} from "./tags.ts";
import type {
  ModelVersion,
  RegistryEvent,
  RegistryEventKind,
  StageAssignment,
  TagRecord,
} from "./types.ts";

// The registry read from its tags: pure functions, shared by both backends.

export interface RegistryState {
  name: string;
  tagNames: string[];
  /** Sorted by SemVer, oldest first. */
  versions: ModelVersion[];
  /** Chronological. */
  events: RegistryEvent[];
  /** The artifact as a whole was deprecated (GTO `name@deprecated#N`) and not revived since. */
  deprecated: boolean;
}

const KIND: Record<ParsedTag["action"], RegistryEventKind> = {
  register: "registration",
  deregister: "deregistration",
  assign: "assignment",
  unassign: "unassignment",
  deprecate: "deprecation",
};
// GTO's order for events at the same instant.
const PRIORITY: Record<RegistryEventKind, number> = {
  deprecation: 2,
  registration: 3,
  deregistration: 4,
  assignment: 5,
  unassignment: 6,
};

function versionOrder(a: string, b: string): number {
  const left = parseSemVer(a);
  const right = parseSemVer(b);
  if (left && right) return compareSemVer(left, right);
  if (left || right) return left ? 1 : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Chronological order: time, then the #N counter (uncounted registrations first), then GTO priority. */
function eventOrder(a: RegistryEvent, b: RegistryEvent): number {
  return (
    Date.parse(a.at) - Date.parse(b.at) ||
    (a.counter ?? -1) - (b.counter ?? -1) ||
    PRIORITY[a.kind] - PRIORITY[b.kind] ||
    (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0)
  );
}

/** Builds the registry state of model `name` from its annotated tags. */
export function buildRegistryState(name: string, tags: TagRecord[]): RegistryState {
  // Each message is parsed once (a lineage is kilobytes of JSON, and a registry has thousands).
  const parsedTags = tags
    .map((tag) => ({ tag, parsed: parseTag(tag.name) }))
    .filter(
      (entry): entry is { tag: TagRecord; parsed: ParsedTag } => entry.parsed?.artifact === name,
    )
    .map((entry) => ({ ...entry, message: parseTagMessage(entry.tag.message) }));
  const versions = new Map<string, ModelVersion>();
  for (const { tag, parsed, message } of parsedTags) {
    if (parsed.action !== "register" || !parsed.version) continue;
    versions.set(parsed.version, {
      name,
      version: parsed.version,
      tag: tag.name,
      commit: tag.commit,
      registeredAt: new Date(tag.taggedAt).toISOString(),
      deprecated: false,
      stages: [],
      lineage: lineageFromTagData(message.data),
    });
  }
  const events: RegistryEvent[] = parsedTags.map(({ tag, parsed, message }) => {
    let version = parsed.version ?? null;
    if (parsed.stage) {
      const recorded = (message.data as { version?: unknown } | null)?.version;
      version =
        typeof recorded === "string" && versions.has(recorded)
          ? recorded
          : versionAtCommit([...versions.values()], tag.commit, tag.taggedAt);
    }
    return {
      kind: KIND[parsed.action],
      tag: tag.name,
      at: new Date(tag.taggedAt).toISOString(),
      commit: tag.commit,
      version,
      stage: parsed.stage ?? null,
      counter: parsed.counter ?? null,
      summary: message.summary,
    };
  });
  events.sort(eventOrder);
  for (const event of events) {
    const version = event.version ? versions.get(event.version) : undefined;
    if (version && event.kind === "deregistration") version.deprecated = true;
  }
  const state: RegistryState = {
    name,
    tagNames: tags.map((tag) => tag.name),
    versions: [...versions.values()].sort((a, b) => versionOrder(a.version, b.version)),
    events,
    deprecated: events.at(-1)?.kind === "deprecation",
  };
  for (const stage of new Set(events.map((event) => event.stage).filter((s) => s !== null))) {
    const holder = stageHolder(state, stage);
    if (holder) holder.version.stages.push(stage);
  }
  return state;
}

// GTO maps an assignment to the version registered at the tagged commit. When a commit has
// several versions, the one registered most recently before the assignment is the best guess.
function versionAtCommit(versions: ModelVersion[], commit: string, at: string): string | null {
  const candidates = versions
    .filter((version) => version.commit === commit)
    .sort((a, b) => Date.parse(a.registeredAt) - Date.parse(b.registeredAt));
  const before = candidates.filter((version) => Date.parse(version.registeredAt) <= Date.parse(at));
  return (before.at(-1) ?? candidates.at(-1))?.version ?? null;
}

/** Which version held `stage` at `at` (default now): replays assignments up to then. Among
 * versions assigned and not unassigned nor deregistered, the most recently assigned one wins. */
export function stageHolder(
  state: RegistryState,
  stage: string,
  at: Date = new Date(8.64e15),
): StageAssignment | null {
  const active = new Map<string, RegistryEvent>();
  const deregistered = new Set<string>();
  let deprecated = false;
  for (const event of state.events) {
    if (Date.parse(event.at) > at.getTime()) break;
    deprecated = event.kind === "deprecation";
    if (!event.version) continue;
    if (event.kind === "deregistration") deregistered.add(event.version);
    if (event.stage !== stage) continue;
    if (event.kind === "assignment") {
      active.delete(event.version);
      active.set(event.version, event);
    } else if (event.kind === "unassignment") active.delete(event.version);
  }
  if (deprecated) return null;
  const holder = [...active.values()]
    .filter((event) => !deregistered.has(event.version ?? ""))
    .at(-1);
  const version = holder?.version ? findVersion(state, holder.version) : undefined;
  if (!holder || !version) return null;
  return { stage, version, assignedAt: holder.at, tag: holder.tag };
}

function findVersion(state: RegistryState, version: string): ModelVersion | undefined {
  return state.versions.find((candidate) => candidate.version === version);
}

/** The highest-SemVer version that is not deprecated, or null. */
export function latestVersion(state: RegistryState): ModelVersion | null {
  if (state.deprecated) return null;
  return state.versions.filter((version) => !version.deprecated).at(-1) ?? null;
}

/** Finds a version by `v1.2.0`, `1.2.0`, `house-price@v1.2.0` or `latest`; throws naming the known ones. */
export function resolveVersion(state: RegistryState, ref: string): ModelVersion {
  if (ref === "latest") {
    const latest = latestVersion(state);
    if (!latest) throw new Error(`model ${state.name} has no active version to call "latest"`);
    return latest;
  }
  const wanted = ref.startsWith(`${state.name}@`) ? ref.slice(state.name.length + 1) : ref;
  const normalized = wanted.startsWith("v") ? wanted : `v${wanted}`;
  const found = findVersion(state, normalized);
  if (!found) {
    const known = state.versions.map((version) => version.version).join(", ") || "none";
    throw new Error(`model ${state.name} has no version "${ref}" (registered: ${known})`);
  }
  return found;
}

/** The next version number for a model whose feature contract hashes to `contractSha256`:
 * major when it differs from the latest version's contract, minor otherwise. */
export function nextVersion(
  state: RegistryState,
  contractSha256: string,
): { version: string; bump: "first" | "major" | "minor" } {
  const numbered = state.versions
    .map((version) => ({ version, semver: parseSemVer(version.version) }))
    .filter((entry) => entry.semver !== null);
  const highest = numbered.at(-1);
  if (!highest?.semver) return { version: formatSemVer(FIRST_VERSION), bump: "first" };
  const reference = latestVersion(state) ?? highest.version;
  const previousContract = reference.lineage?.featureContractSha256;
  const bump = previousContract && previousContract !== contractSha256 ? "major" : "minor";
  return { version: formatSemVer(bumpSemVer(highest.semver, bump)), bump };
}

/** The versions that held `stage`, most recent first, each once. */
export function stageHolders(state: RegistryState, stage: string): string[] {
  const seen: string[] = [];
  for (const event of [...state.events].reverse()) {
    if (event.kind === "assignment" && event.stage === stage && event.version) {
      if (!seen.includes(event.version)) seen.push(event.version);
    }
  }
  return seen;
}
