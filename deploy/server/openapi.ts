// The OpenAPI 3 description of the service, built from the same schema constants and input rules
// that validate requests, so the document cannot drift from the code about fields and ranges.
import {
  CATEGORY_COLUMN,
  NUMERIC_INPUTS,
  OCEAN_PROXIMITY_VALUES,
  SAMPLE_RECORD,
} from "../../lib/schema/features.ts";
import { NUMERIC_RULES } from "../../lib/schema/rules.ts";
import { ABSURD_LIMIT, MLFLOW_FORMATS } from "./payload.ts";

type JsonObject = Record<string, unknown>;

function inputSchema(name: string): JsonObject {
  const rule = NUMERIC_RULES.find((candidate) => candidate.column === name);
  const schema: JsonObject = { type: "number", description: rule?.meaning };
  if (rule?.min !== undefined) schema.minimum = rule.min;
  if (rule?.above !== undefined) schema.exclusiveMinimum = rule.above;
  schema.maximum = rule?.max ?? ABSURD_LIMIT;
  if (rule?.imputed) {
    schema.nullable = true;
    schema.description = `${rule.meaning}; optional: null or absent is imputed with the training value`;
  }
  return schema;
}

const error = (description: string) => ({
  description,
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
});

const json = (schema: JsonObject, description = "OK") => ({
  description,
  content: { "application/json": { schema } },
});

/** The OpenAPI 3.0 document served at /openapi.json. */
export function openApiDocument(options: {
  maxBatch: number;
  bodyLimit: string;
  version: string;
}): JsonObject {
  const required = NUMERIC_INPUTS.filter(
    (name) => !NUMERIC_RULES.find((rule) => rule.column === name)?.imputed,
  );
  const clientErrors = {
    "400": error("Malformed JSON."),
    "413": error(
      `Body larger than ${options.bodyLimit} (BODY_LIMIT) or more than ${options.maxBatch} records (MAX_BATCH).`,
    ),
    "415": error("Content-Type is not application/json."),
    "422": error("Invalid input: one entry per bad field in `details`."),
    "503": error("No model is loaded yet."),
  };
  const records = {
    type: "array",
    minItems: 1,
    maxItems: options.maxBatch,
    items: { $ref: "#/components/schemas/Record" },
  };
  return {
    openapi: "3.0.3",
    info: {
      title: "House price prediction service",
      version: options.version,
      description:
        "Predicts California median house values with the deployed random forest. The model is hot-reloaded when the deployed bundle changes.",
    },
    paths: {
      "/predict": {
        post: {
          summary: "Predict the price of one record, or of a batch (a JSON array) in order",
          requestBody: {
            required: true,
            content: {
              "application/json": {
                schema: { oneOf: [{ $ref: "#/components/schemas/Record" }, records] },
                example: SAMPLE_RECORD,
              },
            },
          },
          responses: {
            "200": json(
              {
                oneOf: [
                  { $ref: "#/components/schemas/Prediction" },
                  { $ref: "#/components/schemas/BatchPrediction" },
                ],
              },
              "A single prediction for a record, `predictions` in request order for an array",
            ),
            ...clientErrors,
          },
        },
      },
      "/invocations": {
        post: {
          summary: `MLflow scoring-server compatible scoring: one of ${MLFLOW_FORMATS.join(", ")}`,
          requestBody: {
            required: true,
            content: {
              "application/json": {
                schema: {
                  oneOf: [
                    {
                      type: "object",
                      required: ["dataframe_split"],
                      properties: {
                        dataframe_split: {
                          type: "object",
                          required: ["columns", "data"],
                          properties: {
                            columns: { type: "array", items: { type: "string" } },
                            data: {
                              type: "array",
                              maxItems: options.maxBatch,
                              items: { type: "array", items: {} },
                            },
                          },
                        },
                      },
                    },
                    {
                      type: "object",
                      required: ["dataframe_records"],
                      properties: { dataframe_records: records },
                    },
                    { type: "object", required: ["instances"], properties: { instances: records } },
                  ],
                },
                example: { dataframe_records: [SAMPLE_RECORD] },
              },
            },
          },
          responses: {
            "200": json({
              type: "object",
              required: ["predictions"],
              properties: { predictions: { type: "array", items: { type: "number" } } },
            }),
            ...clientErrors,
          },
        },
      },
      "/health": {
        get: {
          summary: "Liveness: the process answers",
          responses: { "200": json({ type: "object" }) },
        },
      },
      "/ready": {
        get: {
          summary: "Readiness: 200 once a model is loaded",
          responses: { "200": json({ type: "object" }), "503": error("No model is loaded yet.") },
        },
      },
      "/model": {
        get: {
          summary:
            "The model serving now: name, version, trained-at, metrics, feature schema, lineage, last failed reload",
          responses: {
            "200": json({ $ref: "#/components/schemas/ModelInfo" }),
            "503": error("No model is loaded yet."),
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
            "200": json({ type: "object" }, "Loaded (or unchanged)"),
            "401": error("No bearer token."),
            "403": error("Wrong token."),
            "404": error("Admin routes are disabled (no ADMIN_TOKEN configured)."),
            "409": error("The bundle was rejected; the previous model keeps serving."),
          },
        },
      },
      "/openapi.json": {
        get: { summary: "This document", responses: { "200": json({ type: "object" }) } },
      },
      "/docs": {
        get: {
          summary: "Swagger UI for this document",
          responses: { "200": { description: "HTML" } },
        },
      },
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        Record: {
          type: "object",
          required: [...required, CATEGORY_COLUMN],
          properties: {
            ...Object.fromEntries(NUMERIC_INPUTS.map((name) => [name, inputSchema(name)])),
            [CATEGORY_COLUMN]: { type: "string", enum: OCEAN_PROXIMITY_VALUES },
          },
          example: SAMPLE_RECORD,
        },
        Prediction: {
          type: "object",
          required: ["predicted_price", "model_version"],
          properties: { predicted_price: { type: "number" }, model_version: { type: "string" } },
        },
        BatchPrediction: {
          type: "object",
          required: ["predictions", "model_version"],
          properties: {
            predictions: { type: "array", items: { type: "number" } },
            model_version: { type: "string" },
          },
        },
        ModelInfo: {
          type: "object",
          properties: {
            name: { type: "string" },
            version: { type: "string" },
            trainedAt: { type: "string", format: "date-time" },
            loadedAt: { type: "string", format: "date-time" },
            metrics: { type: "object" },
            featureSchema: { type: "object" },
            lineage: { type: "object" },
            lastReloadFailure: { type: "object", nullable: true },
          },
        },
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: { type: "string" },
            details: {
              type: "array",
              items: {
                type: "object",
                required: ["field", "message"],
                properties: { field: { type: "string" }, message: { type: "string" } },
              },
            },
          },
        },
      },
    },
  };
}
