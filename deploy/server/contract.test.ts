// The request contract as the running server applies it: NaN and Infinity as Python writes them,
// 405 with Allow on every documented path, and a document that follows the model serving.
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Forest } from "../../lib/forest/forest.ts";
import { buildFeatureSchema, featureVector } from "../../lib/schema/features.ts";
import { makeTestBundle, sampleRecord, testSchema } from "../../test/support/bundle.ts";
import { tempDir } from "../../test/support/housing.ts";
import type { RunningServer } from "./server.ts";
import { postJson, startTestServer, waitFor } from "./test-helpers.ts";

const schema = testSchema();
let forest: Forest;
let running: RunningServer;
let url: string;
let work: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const temp = await tempDir("contract-");
  ({ dir: work, cleanup } = temp);
  ({ forest } = await makeTestBundle(join(work, "current"), { version: "v1.0.0", trees: 4 }));
  running = await startTestServer({ modelDir: join(work, "current"), maxBatch: 10 });
  url = running.url;
});

afterAll(async () => {
  await running?.close();
  await cleanup?.();
});

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  components: { schemas: Record<string, { required?: string[] }> };
};
const documentOf = async (base: string) =>
  (await (await fetch(`${base}/openapi.json`)).json()) as Doc;

/** A split row in the model's column order, as Python writes it: `missing` is a bare token. */
function splitBody(records: ReturnType<typeof sampleRecord>[], missing: string): string {
  const columns = [...schema.numericInputs, schema.category.column];
  const rows = records.map(
    (record) =>
      `[${columns
        .map((column) =>
          column === "total_bedrooms"
            ? missing
            : JSON.stringify(record[column as keyof typeof record]),
        )
        .join(", ")}]`,
  );
  return `{"dataframe_split": {"index": [0], "columns": ${JSON.stringify(columns)}, "data": [${rows.join(", ")}]}}`;
}

describe("NaN and Infinity, as Python's json writes them", () => {
  const records = [sampleRecord(3), sampleRecord(8)];
  it("reads NaN as a missing value, exactly like null, on both scoring routes", async () => {
    const imputed = records.map((record) =>
      forest.predictOne(featureVector({ ...record, total_bedrooms: null }, schema)),
    );
    const nan = await postJson(`${url}/invocations`, splitBody(records, "NaN"));
    const nullValue = await postJson(`${url}/invocations`, splitBody(records, "null"));
    expect(nan.status).toBe(200);
    expect(nan.body).toEqual({ predictions: imputed });
    expect(nullValue.body).toEqual(nan.body);
    const record = JSON.stringify({ ...records[0], total_bedrooms: 0 }).replace(
      '"total_bedrooms":0',
      '"total_bedrooms":NaN',
    );
    const single = await postJson(`${url}/predict`, record);
    expect(single.status).toBe(200);
    expect(single.body.predicted_price).toBe(imputed[0]);
  });

  it("answers a NaN where a value is required with the 422 of null", async () => {
    const body = (value: string) =>
      JSON.stringify({ ...records[0], median_income: 0 }).replace(
        '"median_income":0',
        `"median_income":${value}`,
      );
    const nan = await postJson(`${url}/predict`, body("NaN"));
    const nullValue = await postJson(`${url}/predict`, body("null"));
    expect(nan.status).toBe(422);
    expect(nan.body).toEqual(nullValue.body);
    expect(nan.body.details).toEqual([
      {
        field: "median_income",
        message: expect.stringMatching(/^expected a number > 0 .*; got null$/),
      },
    ]);
  });

  it("answers Infinity and -Infinity with a 422 naming the value, not a 400", async () => {
    const infinite = await postJson(
      `${url}/predict`,
      JSON.stringify(records[0]).replace(/"total_rooms":[^,]+/, '"total_rooms":Infinity'),
    );
    expect(infinite.status).toBe(422);
    expect(infinite.body.details).toEqual([
      {
        field: "total_rooms",
        message: expect.stringMatching(/^expected a number > 0 and <= 10000000 .*; got Infinity$/),
      },
    ]);
    const negative = await postJson(
      `${url}/predict`,
      JSON.stringify(records[0]).replace(/"longitude":[^,]+/, '"longitude":-Infinity'),
    );
    expect(negative.status).toBe(422);
    expect((negative.body.details as { message: string }[])[0].message).toMatch(/got -Infinity$/);
  });

  it("keeps the tokens inside strings and 400 for bodies that are still not JSON", async () => {
    const inString = await postJson(`${url}/predict`, { ...records[0], ocean_proximity: "NaN" });
    expect(inString.status).toBe(422);
    expect((inString.body.details as { message: string }[])[0].message).toMatch(/got "NaN"$/);
    for (const body of ['{"median_income": NaNa}', '{"x": -NaN}', "[Infinity,", "nan"]) {
      const answer = await postJson(`${url}/predict`, body);
      expect(answer.status, body).toBe(400);
      expect(answer.body.error, body).toMatch(/^malformed JSON/);
    }
  });
});

describe("/invocations holds to its document", () => {
  const records = [sampleRecord(1), sampleRecord(2)];
  const columns = [...schema.numericInputs, schema.category.column];
  const rows = records.map((record) => columns.map((c) => record[c as keyof typeof record]));

  it("names the expected column order, rejects extra keys and a second format", async () => {
    const reordered = await postJson(`${url}/invocations`, {
      dataframe_split: { columns: [...columns].reverse(), data: rows.map((r) => [...r].reverse()) },
    });
    expect(reordered.status).toBe(422);
    expect((reordered.body.details as { message: string }[])[0].message).toBe(
      `expected the columns ${columns.join(", ")}, in this order`,
    );
    const extra = await postJson(`${url}/invocations`, { instances: records, params: {} });
    expect(extra.status).toBe(422);
    expect(extra.body.details).toEqual([
      { field: "params", message: "unexpected key; send instances alone" },
    ]);
    const two = await postJson(`${url}/invocations`, { instances: records, dataframe_records: [] });
    expect(two.status).toBe(422);
    expect(two.body.error).toMatch(/found dataframe_records and instances/);
  });

  it("names a bad cell by its column and counts rows against MAX_BATCH", async () => {
    const bad = await postJson(`${url}/invocations`, {
      dataframe_split: { columns, data: [rows[0], [...rows[1].slice(0, -1), "MOON"]] },
    });
    expect(bad.status).toBe(422);
    expect((bad.body.details as { field: string }[])[0].field).toBe(
      "dataframe_split.data[1].ocean_proximity",
    );
    const many = await postJson(`${url}/invocations`, {
      dataframe_split: { columns, data: Array.from({ length: 11 }, () => rows[0]) },
    });
    expect(many.status).toBe(413);
    expect(many.body.error).toMatch(/11 rows.*MAX_BATCH/);
  });
});

/** Sends `method` to `path` with node:http (fetch refuses some methods), returning status and Allow. */
function send(method: string, path: string): Promise<{ status: number; allow?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), { method }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, allow: res.headers.allow }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("methods", () => {
  it("answers 405 with Allow to every undeclared method on every documented path", async () => {
    const doc = await documentOf(url);
    const methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "TRACE", "QUERY"];
    for (const [path, operations] of Object.entries(doc.paths)) {
      const declared = Object.keys(operations).map((method) => method.toUpperCase());
      const allow = [...declared, ...(declared.includes("GET") ? ["HEAD"] : [])].join(", ");
      for (const method of methods.filter((m) => !declared.includes(m))) {
        const answer = await send(method, path);
        expect(answer, `${method} ${path}`).toEqual({ status: 405, allow });
      }
      expect(await send("OPTIONS", path), `OPTIONS ${path}`).toEqual({ status: 204, allow });
    }
  });

  it("declares every status each operation answers", async () => {
    const doc = await documentOf(url);
    const statuses = (path: string, method: string) =>
      Object.keys(doc.paths[path][method].responses).sort();
    expect(statuses("/predict", "post")).toEqual(["200", "400", "413", "415", "422", "503"]);
    expect(statuses("/invocations", "post")).toEqual(["200", "400", "413", "415", "422", "503"]);
    expect(statuses("/admin/reload", "post")).toEqual(["200", "401", "403", "404", "409"]);
    expect(statuses("/model", "get")).toEqual(["200", "503"]);
    expect(statuses("/ready", "get")).toEqual(["200", "503"]);
    expect(statuses("/docs", "get")).toEqual(["200", "301"]);
    expect((await fetch(`${url}/docs`, { redirect: "manual" })).status).toBe(301);
  });
});

describe("the document follows the model serving", () => {
  it("requires total_bedrooms once a model without its imputation value is loaded", async () => {
    const temp = await tempDir("contract-");
    const modelDir = join(temp.dir, "current");
    const other = await startTestServer({ modelDir });
    try {
      // No model yet: the ingest rules' defaults (total_bedrooms imputed).
      const before = await documentOf(other.url);
      expect(before.openapi).toBe("3.1.0");
      expect(before.components.schemas.Record.required).not.toContain("total_bedrooms");
      await makeTestBundle(modelDir, { version: "v2.0.0", schema: buildFeatureSchema({}) });
      await waitFor("the model to load", async () => (await fetch(`${other.url}/ready`)).ok);
      const after = await documentOf(other.url);
      expect(after.components.schemas.Record.required).toContain("total_bedrooms");
      const answer = await postJson(`${other.url}/predict`, {
        ...sampleRecord(1),
        total_bedrooms: null,
      });
      expect(answer.status).toBe(422);
      expect((answer.body.details as { field: string }[])[0].field).toBe("total_bedrooms");
    } finally {
      await other.close();
      await temp.cleanup();
    }
  });
});
