// GraphQL tag listing against GitHub's published schema, on a bare repository with 2,000 tags.
import { getOctokit } from "@actions/github";
import { validate as validateForGitHub } from "@octokit/graphql-schema";
import { parse } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalGitHub, startLocalGitHub } from "./server.ts";

/** The query the registry will page tags with (issue 10), unchanged: it is valid for GitHub. */
const REGISTRY_TAGS = `query RegistryTags($owner: String!, $name: String!, $prefix: String!, $cursor: String) {
  repository(owner: $owner, name: $name) {
    refs(refPrefix: "refs/tags/", query: $prefix, first: 100, after: $cursor) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { name target { __typename oid ... on Tag { message tagger { date } target { __typename oid } } } }
    }
  }
}`;

interface TagNode {
  name: string;
  target: {
    __typename: string;
    oid: string;
    message?: string;
    tagger?: { date: string };
    target?: { __typename: string; oid: string };
  };
}
interface RefsPage {
  repository: {
    refs: {
      totalCount: number;
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
      nodes: TagNode[];
    };
  };
}

const TAGS = 2000;
let hub: LocalGitHub;
let commits: string[];
let graphql: ReturnType<typeof getOctokit>["graphql"];

/** Annotated tags `house-price@v1.<i>.0`, one commit per 100 tags, tagged an hour apart, in one git call. */
async function makeTags(count: number): Promise<void> {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const message = `Registering artifact house-price version v1.${i}.0\n\n{"i":${i}}\n`;
    lines.push(
      `tag house-price@v1.${i}.0`,
      `from ${commits[Math.floor(i / 100)]}`,
      `tagger bot <bot@example.invalid> ${1_700_000_000 + i * 3600} +0000`,
      `data ${Buffer.byteLength(message)}`,
      message,
    );
  }
  await hub.git(["fast-import", "--quiet"], `${lines.join("\n")}\n`);
}

beforeAll(async () => {
  hub = await startLocalGitHub();
  commits = [];
  // Commits an hour apart: made within one second, their dates would tie and the order by
  // commit date would fall back to the tags' names.
  try {
    for (let i = 0; i < TAGS / 100; i++) {
      process.env.GIT_COMMITTER_DATE = `${1_700_000_000 + i * 3600} +0000`;
      commits.push(await hub.commitFiles("main", { "n.txt": `${i}\n` }, `commit ${i}`));
    }
  } finally {
    delete process.env.GIT_COMMITTER_DATE;
  }
  await makeTags(TAGS);
  graphql = getOctokit(hub.token, { baseUrl: hub.apiUrl }).graphql;
});

afterAll(async () => {
  expect(hub.violations).toEqual([]);
  await hub.close();
});

describe("GraphQL", () => {
  it("accepts the registry's query as valid for GitHub's schema and refuses invalid ones as GitHub does", async () => {
    expect(validateForGitHub(REGISTRY_TAGS)).toEqual([]);
    const invalid = `query { repository(owner: "octo-org", name: "house-price") { refs(refPrefix: "refs/tags/", first: 1) { nodes { sha } } } }`;
    expect(validateForGitHub(invalid).length).toBeGreaterThan(0);
    const error = await graphql(invalid).catch(
      (caught: { errors: { message: string }[] }) => caught,
    );
    expect((error as { errors: { message: string }[] }).errors[0].message).toMatch(
      /Cannot query field "sha" on type "Ref"/,
    );
    const tooMany = await graphql(REGISTRY_TAGS.replace("first: 100", "first: 101"), {
      owner: hub.owner,
      name: hub.repo,
      prefix: "house-price",
    }).catch((caught: { errors: { type: string; message: string }[] }) => caught);
    expect((tooMany as { errors: unknown[] }).errors[0]).toMatchObject({
      type: "EXCESSIVE_PAGINATION",
      message:
        "Requesting 101 records on the `refs` connection exceeds the `first` limit of 100 records.",
    });
    expect(() => parse(REGISTRY_TAGS)).not.toThrow();
  });

  it("pages 2,000 tags 100 at a time: 20 requests, each counted, with messages, tagger dates and targets", async () => {
    const before = hub.requests.length;
    const names: string[] = [];
    let cursor: string | null = null;
    let total = 0;
    let sample: TagNode | undefined;
    do {
      const page: RefsPage = await graphql<RefsPage>(REGISTRY_TAGS, {
        owner: hub.owner,
        name: hub.repo,
        prefix: "house-price",
        cursor,
      });
      const refs = page.repository.refs;
      total = refs.totalCount;
      names.push(...refs.nodes.map((node) => node.name));
      sample ??= refs.nodes.find((node) => node.name === "house-price@v1.1.0");
      cursor = refs.pageInfo.hasNextPage ? refs.pageInfo.endCursor : null;
    } while (cursor);
    expect(total).toBe(TAGS);
    expect(new Set(names).size).toBe(TAGS);
    const graphqlRequests = hub.requests
      .slice(before)
      .filter((request) => request.path === "/graphql");
    expect(graphqlRequests.map((request) => request.status)).toEqual(Array(TAGS / 100).fill(200));
    const tagObject = (await hub.git(["rev-parse", "house-price@v1.1.0"])).trim();
    expect(sample).toEqual({
      name: "house-price@v1.1.0",
      target: {
        __typename: "Tag",
        oid: tagObject,
        message: 'Registering artifact house-price version v1.1.0\n\n{"i":1}\n',
        tagger: { date: "2023-11-14T23:13:20+00:00" },
        target: { __typename: "Commit", oid: commits[0] },
      },
    });
  });

  it("orders tags by their commit's date, newest first (TAG_COMMIT_DATE DESC)", async () => {
    const newest = await graphql<RefsPage>(
      `query($owner: String!, $name: String!) {
        repository(owner: $owner, name: $name) {
          refs(refPrefix: "refs/tags/", first: 100, orderBy: { field: TAG_COMMIT_DATE, direction: DESC }) {
            totalCount
            pageInfo { hasNextPage endCursor }
            nodes { name target { oid } }
          }
        }
      }`,
      { owner: hub.owner, name: hub.repo },
    );
    const nodes = newest.repository.refs.nodes;
    expect(nodes).toHaveLength(100);
    // The last commit carries tags 1900-1999: they come first.
    expect(nodes.every((node) => Number(/v1\.(\d+)\.0/.exec(node.name)?.[1]) >= 1900)).toBe(true);
    expect(newest.repository.refs.pageInfo.hasNextPage).toBe(true);
  });

  it("lets a reader with a cache read 2,000 tags in 2 requests: one listing, one batch of what is new", async () => {
    // What the reader cached from an earlier run: every tag but the newest 100, by tag object id.
    const listing = async (etag?: string) =>
      fetch(`${hub.apiUrl}/repos/${hub.owner}/${hub.repo}/git/matching-refs/tags/house-price`, {
        headers: {
          authorization: `token ${hub.token}`,
          ...(etag ? { "if-none-match": etag } : {}),
        },
      });
    const before = hub.requests.length;
    const first = await listing();
    const refs = (await first.json()) as { ref: string; object: { sha: string } }[];
    expect(refs).toHaveLength(TAGS);
    const cached = new Set(refs.slice(0, TAGS - 100).map((ref) => ref.object.sha));
    const fresh = refs.filter((ref) => !cached.has(ref.object.sha));
    const fields = fresh
      .map(
        (ref, i) =>
          `t${i}: object(oid: "${ref.object.sha}") { ... on Tag { name message tagger { date } target { oid } } }`,
      )
      .join("\n");
    const batch = await graphql<{
      repository: Record<string, { name: string; message: string; target: { oid: string } }>;
    }>(
      `query($owner: String!, $name: String!) { repository(owner: $owner, name: $name) { ${fields} } }`,
      { owner: hub.owner, name: hub.repo },
    );
    expect(Object.values(batch.repository).map((tag) => tag.name)).toEqual(
      fresh.map((ref) => ref.ref.slice(10)),
    );
    expect(Object.values(batch.repository)[0].message).toMatch(
      /^Registering artifact house-price version/,
    );
    expect(hub.requests.length - before).toBe(2);
    // Nothing changed since: the listing answers 304, which costs no rate limit.
    const again = await listing(first.headers.get("etag") ?? "");
    expect(again.status).toBe(304);
    expect(again.headers.get("x-ratelimit-remaining")).toBe(
      first.headers.get("x-ratelimit-remaining"),
    );
  });

  it("answers a token without contents access with GitHub's FORBIDDEN error", async () => {
    const token = await hub.mintToken({ kind: "github_token", permissions: { actions: "write" } });
    const denied = await getOctokit(token, { baseUrl: hub.apiUrl })
      .graphql(REGISTRY_TAGS, { owner: hub.owner, name: hub.repo, prefix: "x" })
      .catch((caught: { errors: unknown[] }) => caught);
    expect((denied as { errors: unknown[] }).errors[0]).toMatchObject({
      type: "FORBIDDEN",
      message: "Resource not accessible by integration",
      path: ["repository", "refs"],
    });
  });
});
