// The OpenAPI 3.1 description of the service, generated from the zod schemas the server validates
// requests with (lib/schema/request.ts) and zod schemas of its responses, so the document cannot
// drift from the code. OpenAPI 3.1 rather than 3.0: its schemas are JSON Schema 2020-12, which
// zod emits as it is, and `prefixItems` can say that a dataframe_split row lines up with its columns.
import { z } from "zod";
import { manifestSchema, modelMetricsSchema } from "../../lib/bundle/bundle.ts";
import { featureSchemaSchema, SAMPLE_RECORD } from "../../lib/schema/features.ts";
import { MLFLOW_FORMATS, type RequestSchemas } from "../../lib/schema/request.ts";
import type { ReloadFailure, ReloadResult } from "./model-store.ts";
import type { FollowerStatus } from "./registry-follower.ts";

type JsonObject = Record<string, unknown>;

const errorSchema = z.object({
  error: z.string(),
  details: z
    .array(z.object({ field: z.string(), message: z.string() }))
    .optional()
    .meta({ description: "One entry per bad field, e.g. `[3].median_income`" }),
});

const prediction = z.object({ predicted_price: z.number(), model_version: z.string() });
const batchPrediction = z.object({
  predictions: z.array(z.number()).meta({ description: "In request order" }),
  model_version: z.string(),
});

const reloadFailure = z.object({
  at: z.string(),
  trigger: z.enum(["startup", "watch", "poll", "admin", "registry"]),
  location: z.string(),
  reason: z.string(),
});
const reloadDone = z.union([
  z.object({
    outcome: z.literal("loaded"),
    version: z.string(),
    previousVersion: z.string().nullable(),
  }),
  z.object({ outcome: z.literal("unchanged"), version: z.string().nullable() }),
]);
const reloadFailed = z.object({
  outcome: z.literal("failed"),
  reason: z.string(),
  version: z.string().nullable(),
});
// The compiler holds these schemas to the store's types: a new field or outcome fails the build.
const _reloadTypes: [
  (result: ReloadResult) => z.input<typeof reloadDone> | z.input<typeof reloadFailed>,
  (failure: ReloadFailure) => z.input<typeof reloadFailure>,
] = [(result) => result, (failure) => failure];

/** Where models come from: a folder, or the registry the service follows (registry mode). */
const modelSource = z.union([
  z.object({ source: z.literal("dir"), location: z.string() }),
  z.object({
    source: z.literal("registry"),
    registry: z.string(),
    stage: z.string(),
    following: z.string().nullable(),
    lastPollAt: z.string().nullable(),
    lastSuccessAt: z.string().nullable(),
    lastError: z.object({ at: z.string(), reason: z.string() }).nullable(),
    polls: z.number().int(),
    failures: z.number().int(),
  }),
]);
const _sourceType: (status: FollowerStatus) => z.input<typeof modelSource> = (status) => status;

const modelInfo = z.object({
  name: z.string(),
  version: z.string(),
  trainedAt: z.string(),
  loadedAt: z.string(),
  source: z.string().meta({ description: "The bundle folder read, symlinks resolved" }),
  metrics: modelMetricsSchema,
  featureSchema: featureSchemaSchema,
  lineage: manifestSchema.pick({
    engine: true,
    params: true,
    data: true,
    git: true,
    run: true,
    model: true,
    featureImportances: true,
  }),
  lastReloadFailure: reloadFailure.nullable(),
  modelSource,
});

/** Every component schema, by name: the request bodies and the response bodies. */
function components(schemas: RequestSchemas): Record<string, z.ZodType> {
  return {
    Record: schemas.record,
    Batch: schemas.batch,
    PredictRequest: schemas.predict,
    DataframeSplit: schemas.dataframeSplit,
    InvocationsRequest: schemas.invocations,
    Prediction: prediction,
    BatchPrediction: batchPrediction,
    PredictResponse: z.union([prediction, batchPrediction]),
    InvocationsResponse: z.object({ predictions: z.array(z.number()) }),
    Error: errorSchema,
    Health: z.object({ status: z.literal("ok") }),
    Ready: z.object({ status: z.literal("ready"), model_version: z.string() }),
    NotReady: z.object({ status: z.literal("not ready"), error: z.string() }),
    ModelInfo: modelInfo,
    NoModel: z.object({
      error: z.string(),
      lastReloadFailure: reloadFailure.nullable(),
      modelSource,
    }),
    ReloadDone: reloadDone,
    ReloadFailed: reloadFailed,
  };
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** JSON Schemas of the components, cross-referenced with $ref (zod's registry output). */
function componentSchemas(schemas: RequestSchemas): Record<string, JsonObject> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(components(schemas))) registry.add(schema, { id });
  const { schemas: json } = z.toJSONSchema(registry, {
    // What a client sends and reads: objects stay open to extra keys unless strict.
    io: "input",
    uri: (id) => ref(id).$ref,
  });
  // An OpenAPI component carries neither a dialect nor an id of its own.
  return Object.fromEntries(
    Object.entries(json).map(([id, { $schema: _, $id: __, ...schema }]) => [id, schema]),
  );
}

const json = (schema: JsonObject, description: string, headers?: JsonObject) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { "application/json": { schema } },
});
const error = (description: string, headers?: JsonObject) =>
  json(ref("Error"), description, headers);

const MODEL_VERSION_HEADER = {
  "X-Model-Version": {
    description: "The version of the model that answered",
    required: true,
    schema: { type: "string" },
  },
};

/** The OpenAPI 3.1 document served at /openapi.json, for the model whose request schemas are given. */
export function openApiDocument(options: {
  schemas: RequestSchemas;
  bodyLimit: string;
  version: string;
}): JsonObject {
  const { schemas, bodyLimit } = options;
  const { maxBatch, inputs } = schemas;
  // The examples are the seed's record; a model with another vocabulary gets none rather than an
  // example its own schema rejects (Schemathesis sends examples as valid requests).
  const body = (schema: JsonObject, example: unknown, validator: z.ZodType) => ({
    required: true,
    content: {
      "application/json": {
        schema,
        ...(validator.safeParse(example).success ? { example } : {}),
      },
    },
  });
  const noModel = error("No model is loaded yet.");
  const clientErrors = {
    "400": error(
      "Malformed JSON. `NaN` outside strings is read as null (a missing value), as MLflow's client sends it.",
    ),
    "413": error(
      `Body larger than ${bodyLimit} (BODY_LIMIT) or more than ${maxBatch} records (MAX_BATCH).`,
    ),
    "415": error("Content-Type is not application/json, or its charset is not UTF-8."),
    "422": error(
      "Invalid input: one entry per bad field in `details`. `Infinity` is out of every range.",
    ),
    "503": noModel,
  };
  const columns = [...inputs.numeric, inputs.category.column];
  const sample = SAMPLE_RECORD as Record<string, unknown>;
  return {
    openapi: "3.1.0",
    info: {
      title: "House price prediction service",
      version: options.version,
      description: [
        "Predicts California median house values with the deployed random forest. The model is hot-reloaded when the deployed bundle changes; this document describes the inputs of the model serving now.",
        "Every path answers 405 with an `Allow` header to a method it does not declare.",
      ].join("\n\n"),
    },
    paths: {
      "/predict": {
        post: {
          summary: "Predict the price of one record, or of a batch (a JSON array) in order",
          requestBody: body(ref("PredictRequest"), SAMPLE_RECORD, schemas.predict),
          responses: {
            "200": json(
              ref("PredictResponse"),
              "A single prediction for a record, `predictions` in request order for an array",
              MODEL_VERSION_HEADER,
            ),
            ...clientErrors,
          },
        },
      },
      "/invocations": {
        post: {
          summary: `MLflow scoring-server compatible scoring: exactly one of ${MLFLOW_FORMATS.join(", ")}`,
          requestBody: body(
            ref("InvocationsRequest"),
            {
              dataframe_split: { columns, data: [columns.map((column) => sample[column] ?? null)] },
            },
            schemas.invocations,
          ),
          responses: {
            "200": json(
              ref("InvocationsResponse"),
              "Predictions in row order",
              MODEL_VERSION_HEADER,
            ),
            ...clientErrors,
          },
        },
      },
      "/health": {
        get: {
          summary: "Liveness: the process answers",
          responses: { "200": json(ref("Health"), "Alive") },
        },
      },
      "/ready": {
        get: {
          summary: "Readiness: 200 once a model is loaded",
          responses: {
            "200": json(ref("Ready"), "A model is serving"),
            "503": json(ref("NotReady"), "No model is loaded yet"),
          },
        },
      },
      "/model": {
        get: {
          summary:
            "The model serving now: name, version, trained-at, metrics, feature schema, lineage, last failed reload",
          responses: {
            "200": json(ref("ModelInfo"), "The model serving now"),
            "503": json(ref("NoModel"), "No model is loaded yet"),
          },
        },
      },
      "/metrics": {
        get: {
          summary: "Prometheus metrics",
          responses: {
            "200": {
              description: "Prometheus text format",
              content: { "text/plain": { schema: { type: "string" } } },
            },
          },
        },
      },
      "/admin/reload": {
        post: {
          summary: "Reload the model from the model location now (Bearer ADMIN_TOKEN)",
          security: [{ bearer: [] }],
          responses: {
            "200": json(ref("ReloadDone"), "Loaded (or unchanged)"),
            "401": error("No bearer token.", {
              "WWW-Authenticate": { required: true, schema: { type: "string" } },
            }),
            "403": error("Wrong token."),
            "404": error("Admin routes are disabled (no ADMIN_TOKEN configured)."),
            "409": json(
              ref("ReloadFailed"),
              "The bundle was rejected; the previous model keeps serving.",
            ),
          },
        },
      },
      "/openapi.json": {
        get: {
          summary: "This document",
          responses: { "200": json({ type: "object" }, "OpenAPI 3.1") },
        },
      },
      "/docs": {
        get: {
          summary: "Swagger UI for this document",
          responses: {
            "200": {
              description: "HTML",
              content: { "text/html": { schema: { type: "string" } } },
            },
            "301": {
              description: "To /docs/, where the page's relative links resolve",
              headers: { Location: { required: true, schema: { type: "string" } } },
            },
          },
        },
      },
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: componentSchemas(schemas),
    },
  };
}

/** The methods each path of the document declares, e.g. `/predict` → POST; GET paths also answer HEAD. */
export function allowedMethods(document: JsonObject): Map<string, string[]> {
  const allowed = new Map<string, string[]>();
  for (const [path, operations] of Object.entries(document.paths as Record<string, object>)) {
    const methods = Object.keys(operations).map((method) => method.toUpperCase());
    allowed.set(path, methods.includes("GET") ? [...methods, "HEAD"] : methods);
  }
  return allowed;
}
