// GitHub's filter patterns for `branches`, `tags` and `paths` ("Filter pattern cheat sheet" in
// the workflow syntax docs). Written here rather than taken from minimatch or picomatch because
// GitHub's meanings differ from shell globs: `?` and `+` repeat the preceding character (zero or
// one, one or more), `**` matches across `/` even inside a segment (`**.js`), and a leading `!`
// in a list excludes what the patterns before it matched.

function toRegExp(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === "\\" && i + 1 < pattern.length) {
      source += pattern[++i].replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    } else if (char === "*") {
      if (pattern[i + 1] === "*") {
        source += ".*";
        i++;
      } else source += "[^/]*";
    } else if (char === "?" || char === "+") {
      source += char;
    } else if (char === "[") {
      const end = pattern.indexOf("]", i + 1);
      if (end < 0) source += "\\[";
      else {
        source += pattern.slice(i, end + 1);
        i = end;
      }
    } else source += char.replace(/[.^${}()|\\/]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

const cache = new Map<string, RegExp>();

/** Whether `value` matches one pattern (without list negation). */
export function matchesPattern(pattern: string, value: string): boolean {
  let regexp = cache.get(pattern);
  if (!regexp) {
    regexp = toRegExp(pattern);
    cache.set(pattern, regexp);
  }
  return regexp.test(value);
}

/** Whether `value` is selected by a pattern list: the last pattern that matches decides. */
export function matchesList(patterns: string[], value: string): boolean {
  let selected = false;
  for (const pattern of patterns) {
    if (pattern.startsWith("!")) {
      if (matchesPattern(pattern.slice(1), value)) selected = false;
    } else if (matchesPattern(pattern, value)) selected = true;
  }
  return selected;
}
