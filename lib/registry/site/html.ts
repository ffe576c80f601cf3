// HTML that is escaped unless said otherwise: every value interpolated into `html` is escaped
// (registry text is untrusted: a tag's message, a param value, a version from another tool), and
// only fragments built by `html` itself, or wrapped with `trusted`, pass through as markup.

/** A fragment of markup that is safe to insert as it is. */
export interface Html {
  readonly html: string;
}

type Value = Html | string | number | boolean | null | undefined | Value[];

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for an HTML element's content or a quoted attribute value. */
export function escapeHtml(text: string): string {
  // Most text has nothing to escape: test before building a new string.
  return SPECIAL.test(text) ? text.replace(SPECIALS, (char) => ESCAPES[char]) : text;
}

const SPECIAL = /[&<>"']/;
const SPECIALS = /[&<>"']/g;

function isHtml(value: unknown): value is Html {
  return typeof value === "object" && value !== null && "html" in value && !Array.isArray(value);
}

function render(value: Value): string {
  if (typeof value === "string") return escapeHtml(value);
  if (value === null || value === undefined || value === false) return "";
  if (Array.isArray(value)) {
    let out = "";
    for (const item of value) out += render(item);
    return out;
  }
  if (isHtml(value)) return value.html;
  return escapeHtml(String(value));
}

/** A template of markup: interpolated values are escaped, `Html` fragments and arrays of them kept. */
export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return { html: out };
}

/** Markup the generator wrote itself (never registry text). */
export function trusted(markup: string): Html {
  return { html: markup };
}

/**
 * Data for a page's scripts: JSON inside `<script type="application/json">`, with `<`, `>` and `&`
 * written as \u escapes so that no value (say a param `</script><script>…`) can end the element.
 */
export function jsonScript(id: string, value: unknown): Html {
  const json = JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026");
  return html`<script type="application/json" id="${id}">${trusted(json)}</script>`;
}

/** A link relative to the current page; `href` is escaped as an attribute. */
export function link(href: string, text: Value, attributes: Html = trusted("")): Html {
  return html`<a href="${href}"${attributes}>${text}</a>`;
}
