// The prediction service: builds the Express app around a hot-reloading model store.
// index.ts reads the environment and listens; tests and the benchmark use createApp/startServer.
import { timingSafeEqual } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express, {
  type Express,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from "express";
import swaggerUi from "swagger-ui-express";
import { sha256 } from "../../lib/io/files.ts";
import { type FeatureSchema, featureVector, type RawRecord } from "../../lib/schema/features.ts";
import {
  DEFAULT_REQUEST_INPUTS,
  type RequestInputs,
  type RequestSchemas,
  requestInputs,
  requestSchemas,
} from "../../lib/schema/request.ts";
import type { ModelSource } from "./config.ts";
import { jsonLogger, type Logger } from "./log.ts";
import { createServiceMetrics, type ServiceMetrics } from "./metrics.ts";
import { createModelStore, type ModelStore, type ServingModel } from "./model-store.ts";
import { allowedMethods, openApiDocument } from "./openapi.ts";
import { parseInvocation, parseJsonBody, parsePrediction, RequestError } from "./payload.ts";
import { createRegistryFollower, type RegistryFollower } from "./registry-follower.ts";

export interface AppOptions {
  /** The deployed bundle folder, or a symlink to one. */
  modelDir: string;
  /** Enables POST /admin/reload with this bearer token. */
  adminToken?: string;
  maxBatch?: number;
  bodyLimit?: string;
  modelPollMs?: number;
  /** Follow changes of modelDir (default true). */
  watch?: boolean;
  /** Registry mode: follow the registry's stage into the cache that modelDir links into. */
  source?: ModelSource;
  log?: Logger;
}

export interface PredictionService {
  app: Express;
  models: ModelStore;
  /** In registry mode, what follows the registry. */
  follower: RegistryFollower | null;
  metrics: ServiceMetrics;
  /** From now on every response asks its client to close the connection (shutdown). */
  drain(): void;
  /** Stops watching the model location. */
  close(): void;
}

const SERVICE_VERSION = "1.0.0";
const JSON_TYPES = ["application/json", "application/*+json"];

/** The request schemas of one model and the OpenAPI document generated from them. */
interface Contract {
  schemas: RequestSchemas;
  document: Record<string, unknown>;
}

function noBody(): RequestError {
  return new RequestError(422, "the request has no body; expected JSON", [
    { field: "(body)", message: "expected a JSON object (or an array of objects)" },
  ]);
}

function requireModel(models: ModelStore): ServingModel {
  const model = models.current;
  if (model) return model;
  const reason = models.lastFailure ? `; last attempt: ${models.lastFailure.reason}` : "";
  throw new RequestError(503, `no model is loaded yet from ${models.location}${reason}`);
}

function predictBatch(model: ServingModel, records: RawRecord[]): Float64Array {
  const width = model.predictor.nFeatures;
  const matrix = new Float64Array(records.length * width);
  for (let i = 0; i < records.length; i++) {
    featureVector(records[i], model.schema, matrix.subarray(i * width, (i + 1) * width));
  }
  return model.predictor.predict(matrix, records.length);
}

/** The JSON error body and status for anything thrown while answering a request. */
function errorResponse(error: unknown, bodyLimit: string): { status: number; body: object } {
  if (error instanceof RequestError) {
    return {
      status: error.status,
      body:
        error.details.length > 0
          ? { error: error.message, details: error.details }
          : { error: error.message },
    };
  }
  const { type, status, message } = error as { type?: string; status?: number; message?: string };
  switch (type) {
    case "entity.too.large":
      return {
        status: 413,
        body: { error: `the request body is larger than the ${bodyLimit} limit (BODY_LIMIT)` },
      };
    case "encoding.unsupported":
    case "charset.unsupported":
      return { status: 415, body: { error: `${message}; send UTF-8 JSON` } };
    case "request.aborted":
    case "request.size.invalid":
      return { status: 400, body: { error: message ?? "the request body was incomplete" } };
  }
  if (typeof status === "number" && status >= 400 && status < 500) {
    return { status, body: { error: message ?? "bad request" } };
  }
  return { status: 500, body: { error: "internal error; see the server log" } };
}

function bearerToken(req: Request): string | null {
  const header = req.get("authorization");
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match ? match[1] : null;
}

/** Compares tokens in constant time (hashes first, so lengths do not leak either). */
function sameToken(given: string, expected: string): boolean {
  return timingSafeEqual(Buffer.from(sha256(given), "hex"), Buffer.from(sha256(expected), "hex"));
}

/** Builds the app, loads the model at options.modelDir if one is there, and starts watching it. */
export async function createApp(options: AppOptions): Promise<PredictionService> {
  const { adminToken, maxBatch = 1000, bodyLimit = "1mb", log = jsonLogger } = options;
  const metrics = createServiceMetrics();
  // The request schemas and the document follow the model serving: built once per feature schema
  // (a hot reload may bring another vocabulary or imputation map), when the model loads rather
  // than on a request, and from the ingest rules' defaults while no model is loaded.
  const contractFor = (inputs: RequestInputs): Contract => {
    const schemas = requestSchemas(inputs, maxBatch);
    return { schemas, document: openApiDocument({ schemas, bodyLimit, version: SERVICE_VERSION }) };
  };
  const fallback = contractFor(DEFAULT_REQUEST_INPUTS);
  const contracts = new WeakMap<FeatureSchema, Contract>();
  function contractOf(model: ServingModel | null): Contract {
    if (!model) return fallback;
    let contract = contracts.get(model.schema);
    if (!contract) {
      contract = contractFor(requestInputs(model.schema));
      contracts.set(model.schema, contract);
    }
    return contract;
  }
  const models = createModelStore({
    location: options.modelDir,
    log,
    pollMs: options.modelPollMs,
    onReload: (result, trigger, model) => {
      metrics.observeReload(result, trigger, model);
      contractOf(model);
    },
  });
  await models.reload("startup");
  if (options.watch !== false) models.watch();
  const follower = await followRegistry(options, models, log);

  let draining = false;
  const app = express();
  app.disable("x-powered-by");
  // A weak ETag would hash every prediction response for nothing.
  app.set("etag", false);

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    if (draining) res.setHeader("Connection", "close");
    res.on("finish", () => {
      const route =
        req.route?.path ?? (req.originalUrl.startsWith("/docs") ? "/docs" : "unmatched");
      metrics.observeRequest(
        req.method,
        route,
        res.statusCode,
        Number(process.hrtime.bigint() - started) / 1e9,
      );
    });
    next();
  });

  const jsonBody: RequestHandler[] = [
    (req, _res, next) => {
      const length = req.headers["content-length"];
      const hasBody =
        req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
      const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(req.get("content-type") ?? "")?.[1];
      if (!hasBody) next(noBody());
      else if (!req.is(JSON_TYPES)) {
        next(
          new RequestError(
            415,
            `Content-Type ${JSON.stringify(req.get("content-type") ?? "")} is not supported; send application/json`,
          ),
        );
      } else if (charset !== undefined && !/^utf-/i.test(charset)) {
        // JSON is UTF-8 (RFC 8259); UTF-16/32 are decoded too, as body-parser's JSON parser does.
        next(
          new RequestError(415, `unsupported charset "${charset.toUpperCase()}"; send UTF-8 JSON`),
        );
      } else next();
    },
    express.text({ type: JSON_TYPES, limit: bodyLimit }),
    (req, _res, next) => {
      const text = req.body as string;
      if (text.length === 0) {
        next(noBody());
        return;
      }
      try {
        req.body = parseJsonBody(text);
      } catch (error) {
        next(new RequestError(400, `malformed JSON: ${(error as Error).message}`));
        return;
      }
      next();
    },
  ];

  app.post("/predict", ...jsonBody, (req, res) => {
    const model = requireModel(models);
    res.setHeader("X-Model-Version", model.version);
    const { records, batch } = parsePrediction(contractOf(model).schemas, req.body);
    if (batch) {
      const predictions = predictBatch(model, records);
      metrics.observePredictions(predictions);
      res.json({ predictions: Array.from(predictions), model_version: model.version });
      return;
    }
    const price = model.predictor.predictOne(featureVector(records[0], model.schema, model.row));
    metrics.observePrediction(price);
    res.json({ predicted_price: price, model_version: model.version });
  });

  app.post("/invocations", ...jsonBody, (req, res) => {
    const model = requireModel(models);
    const predictions = predictBatch(model, parseInvocation(contractOf(model).schemas, req.body));
    metrics.observePredictions(predictions);
    res.setHeader("X-Model-Version", model.version);
    res.json({ predictions: Array.from(predictions) });
  });

  app.get("/health", (_req, res) => {
    res.json({ status: "ok" });
  });

  app.get("/ready", (_req, res) => {
    const model = models.current;
    if (model) res.json({ status: "ready", model_version: model.version });
    else res.status(503).json({ status: "not ready", error: requireModelMessage(models) });
  });

  app.get("/model", (_req, res) => {
    const model = models.current;
    if (!model) {
      res.status(503).json({
        error: requireModelMessage(models),
        lastReloadFailure: models.lastFailure,
        modelSource: modelSourceStatus(models, follower),
      });
      return;
    }
    const { manifest } = model;
    res.json({
      name: model.name,
      version: model.version,
      trainedAt: manifest.createdAt,
      loadedAt: model.loadedAt,
      source: model.source,
      metrics: manifest.metrics,
      featureSchema: model.schema,
      lineage: {
        engine: manifest.engine,
        params: manifest.params,
        data: manifest.data,
        git: manifest.git,
        run: manifest.run,
        model: manifest.model,
        featureImportances: manifest.featureImportances,
      },
      lastReloadFailure: models.lastFailure,
      modelSource: modelSourceStatus(models, follower),
    });
  });

  app.get("/metrics", async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.get("/openapi.json", (_req, res) => {
    res.json(contractOf(models.current).document);
  });
  // Swagger UI reads the live document, relative to /docs/ so a path prefix in front still works.
  const docsOptions = { swaggerUrl: "../openapi.json" };
  const docs = express.Router();
  docs.use(swaggerUi.serveFiles(undefined, docsOptions), swaggerUi.setup(undefined, docsOptions));
  app.use("/docs", (req, res, next) => {
    // The page answers GET (and HEAD) only; other methods fall through to the 405 below.
    if (req.method === "GET" || req.method === "HEAD") docs(req, res, next);
    else next();
  });

  app.post("/admin/reload", async (req, res) => {
    if (!adminToken) {
      throw new RequestError(
        404,
        "admin routes are disabled; set ADMIN_TOKEN to enable POST /admin/reload",
      );
    }
    const token = bearerToken(req);
    if (token === null) {
      res.setHeader("WWW-Authenticate", 'Bearer realm="admin"');
      throw new RequestError(401, "missing bearer token; send Authorization: Bearer <ADMIN_TOKEN>");
    }
    if (!sameToken(token, adminToken))
      throw new RequestError(403, "the bearer token is not the ADMIN_TOKEN");
    const result = await models.reload("admin", true);
    res.status(result.outcome === "failed" ? 409 : 200).json(result);
  });

  // Every documented path answers its undeclared methods with 405 and the methods it allows
  // (RFC 9110); OPTIONS asks for exactly that list.
  for (const [path, methods] of allowedMethods(fallback.document)) {
    const allow = methods.join(", ");
    app.all(path, (req, res) => {
      res.setHeader("Allow", allow);
      if (req.method === "OPTIONS") {
        res.status(204).end();
        return;
      }
      throw new RequestError(405, `${path} accepts ${allow} only`);
    });
  }

  app.use((req, _res, next) => {
    next(new RequestError(404, `no route ${req.method} ${req.path}; see /openapi.json`));
  });

  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const { status, body } = errorResponse(error, bodyLimit);
    if (status >= 500) {
      log("error", "request failed", {
        method: req.method,
        path: req.path,
        error: (error as Error)?.stack ?? String(error),
      });
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(status).json(body);
  });

  return {
    app,
    models,
    follower,
    metrics,
    drain() {
      draining = true;
    },
    close() {
      follower?.close();
      models.close();
    },
  };
}

/** Where the served model comes from, for /model. */
function modelSourceStatus(models: ModelStore, follower: RegistryFollower | null) {
  return follower?.status ?? { source: "dir", location: models.location };
}

/** In registry mode: the follower of the registry's stage, polling already. */
async function followRegistry(
  options: AppOptions,
  models: ModelStore,
  log: Logger,
): Promise<RegistryFollower | null> {
  const source = options.source;
  if (source?.kind !== "registry") return null;
  // Loaded only in registry mode: the folder mode needs no registry client.
  const { createRegistry } = await import("../../lib/registry/create-registry.ts");
  const follower = createRegistryFollower({
    connect: () =>
      createRegistry(
        source.repository
          ? {
              backend: "github",
              github: {
                token: source.token,
                repository: source.repository,
                apiUrl: source.apiUrl,
              },
            }
          : { backend: "local", repoDir: source.gitDir },
      ),
    location: source.repository ?? source.gitDir ?? "",
    stage: source.stage,
    cacheDir: source.cacheDir,
    intervalMs: source.pollMs,
    jitter: source.jitter,
    log,
    onFailure: (reason) => models.reportFailure("registry", reason),
    onSwap: () => void models.reload("registry"),
  });
  follower.start();
  return follower;
}

function requireModelMessage(models: ModelStore): string {
  try {
    requireModel(models);
    return "";
  } catch (error) {
    return (error as Error).message;
  }
}

export interface RunningServer {
  service: PredictionService;
  server: Server;
  /** http://host:port of the listening socket. */
  url: string;
  /** Stops accepting, lets in-flight requests finish (up to timeoutMs), then resolves. */
  close(timeoutMs?: number): Promise<void>;
}

/** Creates the app and listens on host:port (port 0 picks a free one). */
export async function startServer(
  options: AppOptions & { port: number; host: string; shutdownTimeoutMs?: number },
): Promise<RunningServer> {
  const service = await createApp(options);
  const server = service.app.listen(options.port, options.host);
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(":") ? `[${address}]` : address;
  let closing: Promise<void> | null = null;
  return {
    service,
    server,
    url: `http://${host}:${port}`,
    close(timeoutMs = options.shutdownTimeoutMs ?? 10_000) {
      closing ??= new Promise<void>((resolve) => {
        service.drain();
        service.close();
        const force = setTimeout(() => server.closeAllConnections(), timeoutMs);
        // A keep-alive connection would hold close() open until its timeout: close each one as
        // soon as it is idle, i.e. once its in-flight request has been answered.
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        server.close(() => {
          clearTimeout(force);
          clearInterval(sweep);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
