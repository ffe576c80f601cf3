// Which version held each stage over time, as one change list per stage: the registry's
// `stageHolder` answers "who held it at T" by replaying every event up to T, which is quadratic
// when asked at every event of a registry with thousands of versions; this replays the events once.
// A test holds it to stageHolder at every event time and between them.
import type { RegistryEvent } from "../types.ts";
import type { StageChange } from "./assets/shared.js";

/** The stages that `events` assign, in order of first assignment. */
export function stagesOf(events: RegistryEvent[]): string[] {
  const stages = new Set<string>();
  for (const event of events) if (event.stage) stages.add(event.stage);
  return [...stages];
}

/**
 * For each stage, the times its holder changed: `[atMs, version or null, sinceMs]`, in time order,
 * the same answer as `stageHolder(state, stage, at)` for any `at`. `events` must be in the
 * registry's chronological order (as `history()` returns them); `known` lists the versions that
 * exist (an assignment of an unknown version holds nothing, as in stageHolder).
 */
export function stageChanges(
  events: RegistryEvent[],
  known: ReadonlySet<string>,
): Map<string, StageChange[]> {
  const stages = stagesOf(events);
  const result = new Map<string, StageChange[]>(stages.map((stage) => [stage, []]));
  // Per stage, the versions assigned and not unassigned, in order of their latest assignment.
  const active = new Map<string, Map<string, RegistryEvent>>(stages.map((s) => [s, new Map()]));
  const deregistered = new Set<string>();
  let deprecated = false;
  for (const [index, event] of events.entries()) {
    // stageHolder counts the artifact as deprecated only while a deprecation is the latest event.
    deprecated = event.kind === "deprecation";
    if (event.version) {
      if (event.kind === "deregistration") deregistered.add(event.version);
      const assigned = event.stage ? active.get(event.stage) : undefined;
      if (assigned && event.kind === "assignment") {
        assigned.delete(event.version);
        assigned.set(event.version, event);
      } else if (assigned && event.kind === "unassignment") assigned.delete(event.version);
    }
    const at = Date.parse(event.at);
    // Events at the same instant take effect together: the holder is read after the last of them.
    if (index + 1 < events.length && Date.parse(events[index + 1].at) === at) continue;
    for (const stage of stages) {
      const holder = deprecated ? null : currentHolder(active.get(stage), deregistered, known);
      const changes = result.get(stage) as StageChange[];
      const last = changes.at(-1);
      const version = holder?.version ?? null;
      const since = holder ? Date.parse(holder.at) : at;
      if (last ? last[1] !== version || last[2] !== since : version !== null) {
        changes.push([at, version, since]);
      }
    }
  }
  return result;
}

function currentHolder(
  assigned: Map<string, RegistryEvent> | undefined,
  deregistered: ReadonlySet<string>,
  known: ReadonlySet<string>,
): RegistryEvent | null {
  if (!assigned) return null;
  const entries = [...assigned.values()];
  for (let i = entries.length - 1; i >= 0; i--) {
    const version = entries[i].version ?? "";
    if (!deregistered.has(version)) return known.has(version) ? entries[i] : null;
  }
  return null;
}
