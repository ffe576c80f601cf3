// The bare repository's pre-receive hook for pushes over HTTP (git-http.ts writes a script that
// runs this file): refuses, as GitHub's rulesets do, tags the pusher may not create and tags of
// immutable releases. The rules for this pusher come in LOCAL_GITHUB_PUSH_RULES (JSON).
import { createInterface } from "node:readline";
import { matchesPattern } from "./filter-pattern.ts";

interface PushRules {
  /** Tag patterns this pusher may not create. */
  restrictedTagPatterns: string[];
  /** Tags of immutable releases: never moved or deleted. */
  protectedTags: string[];
}

const ZERO = /^0+$/;
const rules = JSON.parse(process.env.LOCAL_GITHUB_PUSH_RULES ?? "{}") as Partial<PushRules>;
const violations: string[] = [];
for await (const line of createInterface({ input: process.stdin })) {
  const [before, after, ref] = line.split(" ");
  if (!ref?.startsWith("refs/tags/")) continue;
  const tag = ref.slice("refs/tags/".length);
  if (
    ZERO.test(before) &&
    (rules.restrictedTagPatterns ?? []).some((p) => matchesPattern(p, tag))
  ) {
    violations.push(`${ref}: Cannot create ref due to creations being restricted.`);
  } else if (!ZERO.test(before) && (rules.protectedTags ?? []).includes(tag)) {
    violations.push(`${ref}: Cannot ${ZERO.test(after) ? "delete" : "update"} this protected ref.`);
  }
}
if (violations.length) {
  process.stderr.write("error: GH013: Repository rule violations found.\n\n");
  for (const violation of violations) process.stderr.write(`- ${violation}\n`);
  process.exit(1);
}
