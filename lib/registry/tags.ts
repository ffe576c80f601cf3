// The GTO tag grammar (iterative/gto), so that `gto show` / `gto history` read this registry:
//   registration    house-price@v1.2.0
//   deregistration  house-price@v1.2.0!#7
//   assignment      house-price#production#5
//   unassignment    house-price#production!#6
//   deprecation     house-price@deprecated#8
// All are annotated tags (GTO ignores lightweight ones). The trailing #N is one counter per
// artifact shared by every counted tag: GTO takes max(N) + 1 over the artifact's tags.
import semver from "semver";

export type TagAction = "register" | "deregister" | "assign" | "unassign" | "deprecate";

export interface ParsedTag {
  action: TagAction;
  artifact: string;
  /** `v1.2.0` for registrations and deregistrations. */
  version?: string;
  stage?: string;
  counter?: number;
}

const NAME = "[a-z0-9](?:[a-z0-9-/]*[a-z0-9])?";
const SEMVER =
  "(?:0|[1-9]\\d*)\\.(?:0|[1-9]\\d*)\\.(?:0|[1-9]\\d*)(?:-[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?(?:\\+[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?";
const TAG_PATTERN = new RegExp(
  `^(?<artifact>${NAME})(?:(?:#(?<stage>${NAME})|@(?<version>v${SEMVER}))(?<cancel>!?)|@(?<deprecated>deprecated))(?:#(?<counter>[0-9]+))?$`,
);
const NAME_PATTERN = new RegExp(`^${NAME}$`);

/** Throws unless `value` is a valid GTO artifact or stage name. */
export function assertName(value: string, what: "artifact" | "stage"): void {
  if (!NAME_PATTERN.test(value)) {
    throw new Error(
      `${what} name "${value}" is not valid: use lowercase letters, digits, "-" or "/", starting and ending with a letter or digit (e.g. "production")`,
    );
  }
}

/** Parses a GTO tag name; null when the name is not one. */
export function parseTag(name: string): ParsedTag | null {
  const match = TAG_PATTERN.exec(name);
  if (!match?.groups) return null;
  const { artifact, stage, version, cancel, deprecated, counter } = match.groups;
  const parsed: ParsedTag = { action: "register", artifact };
  if (deprecated) parsed.action = "deprecate";
  else if (version) {
    parsed.version = version;
    parsed.action = cancel ? "deregister" : "register";
  } else {
    parsed.stage = stage;
    parsed.action = cancel ? "unassign" : "assign";
  }
  if (counter !== undefined) parsed.counter = Number(counter);
  return parsed;
}

/** `house-price@v1.2.0`. */
export function registrationTag(artifact: string, version: string): string {
  return `${artifact}@${version}`;
}

/** `house-price@v1.2.0!#N`. */
export function deregistrationTag(artifact: string, version: string, counter: number): string {
  return `${artifact}@${version}!#${counter}`;
}

/** `house-price#production#N`. */
export function assignmentTag(artifact: string, stage: string, counter: number): string {
  return `${artifact}#${stage}#${counter}`;
}

/** `house-price#production!#N`. */
export function unassignmentTag(artifact: string, stage: string, counter: number): string {
  return `${artifact}#${stage}!#${counter}`;
}

/** `house-price@deprecated#N`. */
export function deprecationTag(artifact: string, counter: number): string {
  return `${artifact}@deprecated#${counter}`;
}

/** The next #N for `artifact`: one more than the largest counter among its tags. */
export function nextCounter(artifact: string, tagNames: Iterable<string>): number {
  let max = 0;
  for (const name of tagNames) {
    const parsed = parseTag(name);
    if (parsed?.artifact === artifact && parsed.counter !== undefined && parsed.counter > max) {
      max = parsed.counter;
    }
  }
  return max + 1;
}

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
}

/** Parses `v1.2.3` (or `1.2.3`); null for anything else, pre-releases and build tags included. */
export function parseSemVer(value: string): SemVer | null {
  const parsed = semver.parse(value);
  if (!parsed || parsed.prerelease.length > 0 || parsed.build.length > 0) return null;
  return { major: parsed.major, minor: parsed.minor, patch: parsed.patch };
}

/** `v1.2.3`. */
export function formatSemVer(version: SemVer): string {
  return `v${version.major}.${version.minor}.${version.patch}`;
}

/** Negative, zero or positive as `a` sorts before, with or after `b`. */
export function compareSemVer(a: SemVer, b: SemVer): number {
  return semver.compare(formatSemVer(a), formatSemVer(b));
}

/** The version after `version` for a major or minor change. */
export function bumpSemVer(version: SemVer, kind: "major" | "minor"): SemVer {
  const bumped = parseSemVer(semver.inc(formatSemVer(version), kind) ?? "");
  if (!bumped) throw new Error(`cannot bump ${formatSemVer(version)} (${kind})`);
  return bumped;
}

/** The first version of a model. GTO's own default is v0.0.1; this registry starts at v1.0.0
 * because majors mean an incompatible feature schema (GTO accepts any SemVer it is given). */
export const FIRST_VERSION: SemVer = { major: 1, minor: 0, patch: 0 };

/** A tag message: a readable first line, a blank line, then the data as a JSON block. */
export function formatTagMessage(summary: string, data: unknown): string {
  return `${summary}\n\n${JSON.stringify(data, null, 2)}\n`;
}

/** Splits a tag message into its first line and its JSON block (null when there is none,
 * e.g. for tags that GTO itself created). */
export function parseTagMessage(message: string): { summary: string; data: unknown } {
  const newline = message.indexOf("\n");
  const summary = (newline < 0 ? message : message.slice(0, newline)).trim();
  const rest = newline < 0 ? "" : message.slice(newline + 1).trim();
  if (!rest.startsWith("{")) return { summary, data: null };
  try {
    return { summary, data: JSON.parse(rest) };
  } catch {
    return { summary, data: null };
  }
}
