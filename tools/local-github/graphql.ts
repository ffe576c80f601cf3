import {
  buildClientSchema,
  execute,
  type GraphQLError,
  type GraphQLSchema,
  type IntrospectionQuery,
  parse,
  validate,
} from "graphql";
import type { Hub, Principal, Reply } from "./hub.ts";
import { satisfies } from "./permissions.ts";

// POST /graphql against GitHub's published schema (@octokit/graphql-schema): any query that is
// not valid for GitHub's schema is refused with its validation errors, as GitHub does. Of the
// schema, the part this project reads is served: `repository { refs(...) }` with tags' names,
// messages, tagger dates and targets, paged like GitHub (at most 100 per page, opaque cursors,
// ALPHABETICAL or TAG_COMMIT_DATE order). Anything else resolves to null.

let schema: GraphQLSchema | undefined;

/** GitHub's GraphQL schema, built once from its introspection result (loaded on first use). */
export async function githubSchema(): Promise<GraphQLSchema> {
  if (!schema) {
    // The package's SDL file defines a field twice (graphql-js rejects it); its JSON is clean.
    const { schema: published } = await import("@octokit/graphql-schema");
    const json = published.json as unknown as { data?: IntrospectionQuery } & IntrospectionQuery;
    schema = buildClientSchema(json.data ?? json);
  }
  return schema;
}

/** An error with GitHub's `type` (FORBIDDEN, NOT_FOUND, EXCESSIVE_PAGINATION …). */
class TypedError extends Error {
  type: string;
  constructor(type: string, message: string) {
    super(message);
    this.type = type;
  }
}

const encodeCursor = (index: number) => Buffer.from(`cursor:v2:${index}`).toString("base64");
function decodeCursor(cursor: string): number {
  const match = /^cursor:v2:(\d+)$/.exec(Buffer.from(cursor, "base64").toString());
  if (!match)
    throw new TypedError(
      "INVALID_CURSOR_ARGUMENTS",
      `\`${cursor}\` does not appear to be a valid cursor.`,
    );
  return Number(match[1]);
}

interface RefsArgs {
  refPrefix: string;
  query?: string | null;
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
  orderBy?: { field: "TAG_COMMIT_DATE" | "ALPHABETICAL"; direction: "ASC" | "DESC" } | null;
}

/** A tag object's fields as GraphQL's Tag type has them. */
function tagNode(oid: string, content: Buffer) {
  const text = content.toString("utf8");
  const split = text.indexOf("\n\n");
  const header = new Map(
    text
      .slice(0, split < 0 ? text.length : split)
      .split("\n")
      .map((line) => [line.slice(0, line.indexOf(" ")), line.slice(line.indexOf(" ") + 1)]),
  );
  const tagger = /^(.*) <(.*)> (\d+) ([+-]\d{2})(\d{2})$/.exec(header.get("tagger") ?? "");
  const date = tagger
    ? `${new Date(Number(tagger[3]) * 1000).toISOString().slice(0, 19)}${tagger[4]}:${tagger[5]}`
    : null;
  return {
    __typename: "Tag",
    oid,
    name: header.get("tag") ?? "",
    message: split < 0 ? "" : text.slice(split + 2),
    tagger: { date, name: tagger?.[1] ?? null, email: tagger?.[2] ?? null },
    target: {
      __typename: capitalize(header.get("type") ?? "commit"),
      oid: header.get("object") ?? "",
    },
  };
}

function rootValue(hub: Hub, principal: Principal) {
  const { site, git } = hub;
  // The `object(oid:)` fields of one query are read in one git call (aliases resolve together).
  let batch: {
    oids: string[];
    result: Promise<Awaited<ReturnType<typeof git.readObjects>>>;
  } | null = null;
  function readObject(oid: string) {
    if (!batch) {
      const current = {
        oids: [] as string[],
        result: null as unknown as Promise<Awaited<ReturnType<typeof git.readObjects>>>,
      };
      current.result = new Promise((resolve) => setImmediate(resolve)).then(() => {
        batch = null;
        return git.readObjects(current.oids);
      });
      batch = current;
    }
    batch.oids.push(oid);
    return batch.result.then((objects) => objects.get(oid) ?? null);
  }
  return {
    repository({ owner, name }: { owner: string; name: string }) {
      if (owner !== site.owner || name !== site.repo) {
        throw new TypedError(
          "NOT_FOUND",
          `Could not resolve to a Repository with the name '${owner}/${name}'.`,
        );
      }
      return {
        name: site.repo,
        nameWithOwner: `${site.owner}/${site.repo}`,
        async object({ oid }: { oid?: string | null }) {
          if (!satisfies(principal.permissions, "contents:read")) {
            throw new TypedError("FORBIDDEN", "Resource not accessible by integration");
          }
          if (!oid || !/^[0-9a-f]{40}$/.test(oid)) return null;
          const object = await readObject(oid);
          if (!object) return null;
          if (object.type === "tag") return tagNode(oid, object.content);
          return { __typename: capitalize(object.type), oid };
        },
        async refs(args: RefsArgs) {
          if (!satisfies(principal.permissions, "contents:read")) {
            throw new TypedError("FORBIDDEN", "Resource not accessible by integration");
          }
          if (args.first == null && args.last == null) {
            throw new TypedError(
              "MISSING_PAGINATION_BOUNDARIES",
              "You must provide a `first` or `last` value to properly paginate the `refs` connection.",
            );
          }
          for (const [key, value] of [
            ["first", args.first],
            ["last", args.last],
          ] as const) {
            if (value != null && (value < 0 || value > 100)) {
              throw new TypedError(
                "EXCESSIVE_PAGINATION",
                `Requesting ${value} records on the \`refs\` connection exceeds the \`${key}\` limit of 100 records.`,
              );
            }
          }
          if (args.refPrefix !== "refs/tags/") return emptyConnection();
          let tags = (await git.listTags()).filter(
            (tag) => !args.query || tag.name.includes(args.query),
          );
          const direction = args.orderBy?.direction === "DESC" ? -1 : 1;
          tags =
            args.orderBy?.field === "TAG_COMMIT_DATE"
              ? tags.sort(
                  (a, b) => direction * (a.commitDate - b.commitDate || (a.name < b.name ? -1 : 1)),
                )
              : tags.sort((a, b) => direction * (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
          let start = args.after ? decodeCursor(args.after) + 1 : 0;
          let end = args.before ? decodeCursor(args.before) : tags.length;
          if (args.first != null) end = Math.min(end, start + args.first);
          if (args.last != null) start = Math.max(start, end - args.last);
          const page = tags.slice(start, end);
          const nodes = page.map((tag) => ({
            name: tag.name,
            prefix: "refs/tags/",
            id: `REF_${Buffer.from(tag.name).toString("base64url")}`,
            target:
              tag.type === "tag"
                ? {
                    __typename: "Tag",
                    oid: tag.oid,
                    name: tag.name,
                    message: tag.message,
                    tagger: { date: tag.taggerDate },
                    target: {
                      __typename: capitalize(tag.targetType ?? "commit"),
                      oid: tag.targetOid,
                    },
                  }
                : { __typename: capitalize(tag.type), oid: tag.oid },
          }));
          return {
            totalCount: tags.length,
            pageInfo: {
              hasNextPage: end < tags.length,
              hasPreviousPage: start > 0,
              startCursor: page.length ? encodeCursor(start) : null,
              endCursor: page.length ? encodeCursor(end - 1) : null,
            },
            nodes,
            edges: nodes.map((node, index) => ({ node, cursor: encodeCursor(start + index) })),
          };
        },
      };
    },
  };
}

function emptyConnection() {
  return {
    totalCount: 0,
    pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
    nodes: [],
    edges: [],
  };
}

const capitalize = (type: string) => `${type[0].toUpperCase()}${type.slice(1)}`;

function errorJson(error: GraphQLError) {
  const type = error.originalError instanceof TypedError ? error.originalError.type : undefined;
  return {
    ...(type ? { type } : {}),
    ...(error.path ? { path: error.path } : {}),
    ...(error.locations ? { locations: error.locations } : {}),
    message: error.message,
  };
}

/** Answers one GraphQL request (HTTP 200 with `data` and/or `errors`, as GitHub does). */
export async function answerGraphql(
  hub: Hub,
  principal: Principal,
  body: Record<string, unknown>,
): Promise<Reply> {
  const query = body.query;
  if (typeof query !== "string") {
    return {
      status: 200,
      body: { errors: [{ message: "A query attribute must be specified and must be a string." }] },
    };
  }
  let document: ReturnType<typeof parse>;
  try {
    document = parse(query);
  } catch (error) {
    return { status: 200, body: { errors: [errorJson(error as GraphQLError)] } };
  }
  const github = await githubSchema();
  const problems = validate(github, document);
  if (problems.length) return { status: 200, body: { errors: problems.map(errorJson) } };
  const result = await execute({
    schema: github,
    document,
    rootValue: rootValue(hub, principal),
    variableValues: (body.variables ?? {}) as Record<string, unknown>,
    operationName: typeof body.operationName === "string" ? body.operationName : undefined,
  });
  return {
    status: 200,
    body: {
      data: result.data ?? null,
      ...(result.errors ? { errors: result.errors.map(errorJson) } : {}),
    },
  };
}
