import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Forest } from "../../lib/forest/forest.ts";
import { featureVector } from "../../lib/schema/features.ts";
import {
  makeTestBundle,
  sampleRecord,
  TEST_IMPUTATION,
  testSchema,
} from "../../test/support/bundle.ts";
import { tempDir } from "../../test/support/housing.ts";
import type { RunningServer } from "./server.ts";
import { postJson, startTestServer, waitFor } from "./test-helpers.ts";

const TOKEN = "test-admin-token-0123456789";
const schema = testSchema();
let forest: Forest;
let running: RunningServer;
let url: string;
let cleanup: () => Promise<void>;

function expected(record: ReturnType<typeof sampleRecord>): number {
  return forest.predictOne(featureVector(record, schema));
}

beforeAll(async () => {
  const temp = await tempDir("serve-");
  cleanup = temp.cleanup;
  ({ forest } = await makeTestBundle(join(temp.dir, "current"), { version: "v1.0.0", trees: 6 }));
  running = await startTestServer({
    modelDir: join(temp.dir, "current"),
    adminToken: TOKEN,
    maxBatch: 50,
  });
  url = running.url;
});

afterAll(async () => {
  await running?.close();
  await cleanup?.();
});

describe("POST /predict", () => {
  it("answers the forest's prediction and the model version for one record", async () => {
    const record = sampleRecord(3);
    const answer = await postJson(`${url}/predict`, record);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ predicted_price: expected(record), model_version: "v1.0.0" });
    expect(answer.headers.get("x-model-version")).toBe("v1.0.0");
  });

  it("answers a batch in request order", async () => {
    const records = Array.from({ length: 20 }, (_, i) => sampleRecord(i * 5));
    const answer = await postJson(`${url}/predict`, records);
    expect(answer.status).toBe(200);
    expect(answer.body.model_version).toBe("v1.0.0");
    expect(answer.body.predictions).toEqual(records.map(expected));
  });

  it("imputes a null or absent total_bedrooms with the schema's value", async () => {
    const { total_bedrooms: _, ...absent } = sampleRecord(11);
    const imputed = expected({
      ...sampleRecord(11),
      total_bedrooms: TEST_IMPUTATION.total_bedrooms,
    });
    const withNull = await postJson(`${url}/predict`, { ...absent, total_bedrooms: null });
    const without = await postJson(`${url}/predict`, absent);
    expect(withNull.body.predicted_price).toBe(imputed);
    expect(without.body.predicted_price).toBe(imputed);
  });

  it("answers 422 with a message per bad field", async () => {
    const answer = await postJson(`${url}/predict`, {
      ...sampleRecord(1),
      median_income: "abc",
      population: -5,
      latitude: undefined,
    });
    expect(answer.status).toBe(422);
    const details = answer.body.details as { field: string; message: string }[];
    expect(details.map((detail) => detail.field).sort()).toEqual([
      "latitude",
      "median_income",
      "population",
    ]);
    expect(details.find((detail) => detail.field === "median_income")?.message).toMatch(
      /expected a number.*got "abc"/,
    );
    expect(details.find((detail) => detail.field === "population")?.message).toMatch(/> 0.*got -5/);
    expect(details.find((detail) => detail.field === "latitude")?.message).toMatch(/^required/);
    expect(answer.body.error).toMatch(/median_income/);
  });

  it("names the allowed values of an unknown ocean_proximity", async () => {
    const answer = await postJson(`${url}/predict`, {
      ...sampleRecord(1),
      ocean_proximity: "MOON",
    });
    expect(answer.status).toBe(422);
    const [detail] = answer.body.details as { field: string; message: string }[];
    expect(detail.field).toBe("ocean_proximity");
    for (const value of schema.category.values)
      expect(detail.message).toContain(JSON.stringify(value));
    expect(detail.message).toContain('"MOON"');
  });

  it("rejects non-finite and absurd numbers with 422", async () => {
    for (const body of [
      `{"longitude":-122,"latitude":37,"housing_median_age":10,"total_rooms":1e400,"population":5,"households":3,"median_income":2,"ocean_proximity":"INLAND"}`,
      JSON.stringify({ ...sampleRecord(2), total_rooms: 1e300 }),
      JSON.stringify({ ...sampleRecord(2), longitude: 10 }),
      JSON.stringify({ ...sampleRecord(2), median_income: "NaN" }),
    ]) {
      const answer = await postJson(`${url}/predict`, body);
      expect(answer.status, body).toBe(422);
    }
  });

  it("names the record of a bad field in a batch, and rejects empty and oversized batches", async () => {
    const records = [sampleRecord(1), { ...sampleRecord(2), households: 0 }];
    const bad = await postJson(`${url}/predict`, records);
    expect(bad.status).toBe(422);
    expect((bad.body.details as { field: string }[])[0].field).toBe("[1].households");
    expect((await postJson(`${url}/predict`, [])).status).toBe(422);
    const tooMany = await postJson(
      `${url}/predict`,
      Array.from({ length: 51 }, (_, i) => sampleRecord(i)),
    );
    expect(tooMany.status).toBe(413);
    expect(tooMany.body.error).toMatch(/MAX_BATCH/);
  });

  it("answers 413 for a body over the limit, 415 for another content type, 400 for malformed JSON", async () => {
    const big = await postJson(`${url}/predict`, {
      ...sampleRecord(1),
      padding: "x".repeat(1_200_000),
    });
    expect(big.status).toBe(413);
    expect(big.body.error).toMatch(/1mb/);
    const text = await postJson(`${url}/predict`, JSON.stringify(sampleRecord(1)), {
      "content-type": "text/plain",
    });
    expect(text.status).toBe(415);
    const malformed = await postJson(`${url}/predict`, '{"longitude": -122,');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toMatch(/^malformed JSON/);
    const empty = await fetch(`${url}/predict`, { method: "POST" });
    expect(empty.status).toBe(422);
    expect(((await empty.json()) as { error: string }).error).toMatch(/no body/);
    for (const answer of [big, text, malformed])
      expect(JSON.stringify(answer.body)).not.toMatch(/\n\s+at /);
  });

  it("answers 405 to other methods and a JSON 404 to unknown routes", async () => {
    const get = await fetch(`${url}/predict`);
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    const missing = await fetch(`${url}/nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toMatch(/no route GET \/nope/);
  });
});

describe("POST /invocations", () => {
  const records = Array.from({ length: 4 }, (_, i) => sampleRecord(i + 30));
  const columns = Object.keys(records[0]);

  it("accepts dataframe_split, dataframe_records and instances", async () => {
    const want = records.map(expected);
    const bodies = [
      {
        dataframe_split: {
          columns,
          data: records.map((record) => columns.map((c) => record[c as keyof typeof record])),
        },
      },
      { dataframe_records: records },
      { instances: records },
    ];
    for (const body of bodies) {
      const answer = await postJson(`${url}/invocations`, body);
      expect(answer.status, Object.keys(body)[0]).toBe(200);
      expect(answer.body).toEqual({ predictions: want });
    }
  });

  it("answers 422 for an unknown format, a short row and a bad field", async () => {
    const unknown = await postJson(`${url}/invocations`, { inputs: records });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error).toMatch(/dataframe_split, dataframe_records, instances/);
    const short = await postJson(`${url}/invocations`, {
      dataframe_split: { columns, data: [[1, 2]] },
    });
    expect(short.status).toBe(422);
    expect((short.body.details as { field: string }[])[0].field).toBe("dataframe_split.data[0]");
    const bad = await postJson(`${url}/invocations`, {
      instances: [{ ...records[0], median_income: -1 }],
    });
    expect((bad.body.details as { field: string }[])[0].field).toBe("instances[0].median_income");
  });
});

describe("model and operations routes", () => {
  it("reports liveness, readiness and the model", async () => {
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const ready = await fetch(`${url}/ready`);
    expect(ready.status).toBe(200);
    const model = (await (await fetch(`${url}/model`)).json()) as Record<string, unknown>;
    expect(model.name).toBe("house-price");
    expect(model.version).toBe("v1.0.0");
    expect(typeof model.trainedAt).toBe("string");
    expect(model.featureSchema).toEqual(schema);
    expect(model.metrics).toHaveProperty("validation.rmse");
    expect(model.lineage).toHaveProperty("git.commit");
    expect(model.lineage).toHaveProperty("model.sha256");
    expect(model.lastReloadFailure).toBeNull();
  });

  it("exposes Prometheus metrics for requests, the model version and predictions", async () => {
    await postJson(`${url}/predict`, sampleRecord(9));
    const response = await fetch(`${url}/metrics`);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/http_requests_total\{method="POST",route="\/predict",status="200"\} \d+/);
    expect(text).toMatch(
      /http_request_duration_seconds_bucket\{le="0.005",method="POST",route="\/predict",status="200"\}/,
    );
    expect(text).toMatch(
      /model_info\{name="house-price",version="v1.0.0",sha256="[0-9a-f]{64}"\} 1/,
    );
    expect(text).toMatch(/predicted_price_dollars_count [1-9]/);
    expect(text).toMatch(/process_resident_memory_bytes/);
  });

  it("serves an OpenAPI 3 document listing every route, and Swagger UI", async () => {
    const doc = (await (await fetch(`${url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, { responses: object }>>;
      components: { schemas: { Record: { required: string[] } } };
    };
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    const routes = [
      "/predict",
      "/invocations",
      "/health",
      "/ready",
      "/model",
      "/metrics",
      "/admin/reload",
      "/openapi.json",
      "/docs",
    ];
    expect(Object.keys(doc.paths).sort()).toEqual([...routes].sort());
    for (const operations of Object.values(doc.paths)) {
      for (const operation of Object.values(operations))
        expect(Object.keys(operation.responses).length).toBeGreaterThan(0);
    }
    expect(doc.components.schemas.Record.required).toContain("median_income");
    expect(doc.components.schemas.Record.required).not.toContain("total_bedrooms");
    const docs = await fetch(`${url}/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toMatch(/swagger-ui/i);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/http_requests_total\{method="GET",route="\/docs",status="200"\}/);
  });

  it("guards POST /admin/reload with the bearer token", async () => {
    const none = await postJson(`${url}/admin/reload`, {});
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(
      (await postJson(`${url}/admin/reload`, {}, { authorization: "Bearer wrong-token" })).status,
    ).toBe(403);
    const ok = await postJson(`${url}/admin/reload`, {}, { authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ outcome: "loaded", version: "v1.0.0" });
  });

  it("answers 404 on /admin/reload when no token is configured", async () => {
    const temp = await tempDir("serve-");
    const other = await startTestServer({ modelDir: join(temp.dir, "current") });
    try {
      expect(
        (await postJson(`${other.url}/admin/reload`, {}, { authorization: `Bearer ${TOKEN}` }))
          .status,
      ).toBe(404);
    } finally {
      await other.close();
      await temp.cleanup();
    }
  });
});

describe("readiness", () => {
  it("is 503 until a model appears at the location, then 200", async () => {
    const temp = await tempDir("serve-");
    const empty = await startTestServer({ modelDir: join(temp.dir, "models", "current") });
    try {
      const before = await fetch(`${empty.url}/ready`);
      expect(before.status).toBe(503);
      expect(((await before.json()) as { error: string }).error).toMatch(/no model is loaded/);
      const predict = await postJson(`${empty.url}/predict`, sampleRecord(1));
      expect(predict.status).toBe(503);
      const model = await fetch(`${empty.url}/model`);
      expect(model.status).toBe(503);
      expect(await model.json()).toMatchObject({ lastReloadFailure: { trigger: "startup" } });
      await makeTestBundle(join(temp.dir, "models", "current"), { version: "v2.0.0" });
      await waitFor(
        "the model to load",
        async () => (await fetch(`${empty.url}/ready`)).status === 200,
      );
      expect((await postJson(`${empty.url}/predict`, sampleRecord(1))).body.model_version).toBe(
        "v2.0.0",
      );
    } finally {
      await empty.close();
      await temp.cleanup();
    }
  });
});
