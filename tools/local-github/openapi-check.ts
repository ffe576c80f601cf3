import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

// Checks HTTP responses against GitHub's published OpenAPI description (@octokit/openapi), so the
// GitHub stand-in cannot drift from the real API: each response must use a status code the
// operation declares and carry every required property, with the declared types, of its schema.

interface Schema {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: boolean | Schema;
  nullable?: boolean;
  allOf?: Schema[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  enum?: unknown[];
}

interface ResponseSpec {
  $ref?: string;
  description?: string;
  content?: Record<string, { schema?: Schema }>;
}

interface Operation {
  operationId: string;
  responses: Record<string, ResponseSpec>;
}

interface Spec {
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, Record<string, unknown>>;
}

interface CompiledPath {
  template: string;
  pattern: RegExp;
  literals: number;
  greedy: boolean;
}

let spec: Spec | undefined;
let compiled: CompiledPath[] | undefined;

/** The description of api.github.com, parsed once. */
export function githubSpec(): Spec {
  if (!spec) {
    const require = createRequire(import.meta.url);
    const path = require.resolve("@octokit/openapi/generated/api.github.com.json");
    spec = JSON.parse(readFileSync(path, "utf8")) as Spec;
  }
  return spec;
}

function compilePaths(): CompiledPath[] {
  if (compiled) return compiled;
  compiled = [];
  for (const template of Object.keys(githubSpec().paths)) {
    const segments = template.split("/");
    const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const strict = segments.map((segment) =>
      segment.startsWith("{") ? "[^/]+" : literal(segment),
    );
    const literals = segments.filter((segment) => segment && !segment.startsWith("{")).length;
    compiled.push({
      template,
      pattern: new RegExp(`^${strict.join("/")}$`),
      literals,
      greedy: false,
    });
    // Git refs, content paths and tag names may arrive with their slashes unencoded.
    if (["{ref}", "{path}", "{tag}"].includes(segments.at(-1) ?? "")) {
      const greedy = [...strict.slice(0, -1), ".+"];
      compiled.push({
        template,
        pattern: new RegExp(`^${greedy.join("/")}$`),
        literals,
        greedy: true,
      });
    }
  }
  return compiled;
}

/** The operation a request goes to, preferring exact segment matches and more literal segments. */
export function findOperation(
  method: string,
  pathname: string,
): { template: string; operation: Operation } | null {
  const lower = method.toLowerCase();
  const matches = compilePaths()
    .filter((entry) => githubSpec().paths[entry.template][lower] && entry.pattern.test(pathname))
    .sort((a, b) => Number(a.greedy) - Number(b.greedy) || b.literals - a.literals);
  const best = matches[0];
  return best
    ? { template: best.template, operation: githubSpec().paths[best.template][lower] }
    : null;
}

function resolve<T extends { $ref?: string }>(value: T): T {
  let current = value;
  while (current?.$ref) {
    const parts = current.$ref.replace(/^#\//, "").split("/");
    current = parts.reduce<unknown>(
      (node, key) => (node as Record<string, unknown>)[key],
      githubSpec(),
    ) as T;
  }
  return current;
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function matchesType(expected: string, value: unknown): boolean {
  const actual = typeOf(value);
  return actual === expected || (expected === "number" && actual === "integer");
}

function allowsNull(schema: Schema): boolean {
  const resolved = resolve(schema);
  if (resolved.nullable) return true;
  if (Array.isArray(resolved.type) && resolved.type.includes("null")) return true;
  if (resolved.type === "null") return true;
  return [...(resolved.anyOf ?? []), ...(resolved.oneOf ?? [])].some(allowsNull);
}

/** Problems found validating `value` against `schema`; empty when it conforms. */
export function validateSchema(schemaRef: Schema, value: unknown, path = "$"): string[] {
  const schema = resolve(schemaRef);
  if (value === null)
    return allowsNull(schema) ? [] : [`${path}: is null, which the schema does not allow`];
  const problems: string[] = [];
  for (const part of schema.allOf ?? []) problems.push(...validateSchema(part, value, path));
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) {
    const results = alternatives.map((alternative) => validateSchema(alternative, value, path));
    if (!results.some((result) => result.length === 0)) {
      const closest = results.sort((a, b) => a.length - b.length)[0];
      problems.push(
        `${path}: matches none of ${alternatives.length} alternatives; closest: ${closest.slice(0, 5).join("; ")}`,
      );
    }
  }
  if (schema.enum && !schema.enum.includes(value)) {
    problems.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  const types =
    schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.length > 0 && !types.some((type) => matchesType(type, value))) {
    return [...problems, `${path}: is ${typeOf(value)} but the schema says ${types.join(" or ")}`];
  }
  const isObject = typeOf(value) === "object";
  if (isObject && (schema.properties || schema.required || types.includes("object"))) {
    const record = value as Record<string, unknown>;
    for (const key of schema.required ?? []) {
      if (!(key in record) || record[key] === undefined)
        problems.push(`${path}.${key}: required but missing`);
    }
    for (const [key, item] of Object.entries(record)) {
      const property = schema.properties?.[key];
      if (property) problems.push(...validateSchema(property, item, `${path}.${key}`));
      else if (typeof schema.additionalProperties === "object") {
        problems.push(...validateSchema(schema.additionalProperties, item, `${path}.${key}`));
      }
    }
  }
  if (Array.isArray(value) && schema.items) {
    value.forEach((item, index) => {
      problems.push(...validateSchema(schema.items as Schema, item, `${path}[${index}]`));
    });
  }
  return problems;
}

/** Problems with one response of the stand-in: undeclared status, or a body that does not fit. */
export function checkResponse(
  method: string,
  pathname: string,
  status: number,
  contentType: string | undefined,
  body: unknown,
): string[] {
  const where = `${method} ${pathname} -> ${status}`;
  const found = findOperation(method, pathname);
  if (!found) return [`${where}: no such operation in GitHub's REST API description`];
  const { operation } = found;
  const declared = operation.responses[String(status)] ?? operation.responses.default;
  if (!declared) {
    return [
      `${where}: ${operation.operationId} does not declare status ${status} (declares ${Object.keys(operation.responses).join(", ")})`,
    ];
  }
  const response = resolve(declared);
  const isJson = contentType?.includes("json") ?? false;
  if (!isJson) return [];
  const media = Object.entries(response.content ?? {}).find(([type]) => type.includes("json"));
  // No schema declared for this status (e.g. upload-release-asset's 422): nothing to hold the body to.
  if (!media?.[1].schema) return [];
  return validateSchema(media[1].schema, body).map(
    (problem) => `${where} (${operation.operationId}): ${problem}`,
  );
}
