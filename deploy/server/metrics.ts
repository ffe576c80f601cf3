// Prometheus metrics of the service, on a registry of its own (several apps can live in one
// process, e.g. in tests, without their metrics colliding).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { ReloadResult, ReloadTrigger, ServingModel } from "./model-store.ts";

export interface ServiceMetrics {
  registry: Registry;
  /** Records one finished HTTP request. */
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  /** Records served predictions (dollars). */
  observePrediction(price: number): void;
  observePredictions(prices: ArrayLike<number>): void;
  /** Records a reload attempt and, when one was loaded, the model now serving. */
  observeReload(result: ReloadResult, trigger: ReloadTrigger, model: ServingModel | null): void;
}

/** Creates the metrics and their registry. */
export function createServiceMetrics(): ServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: "http_requests_total",
    help: "HTTP requests answered, by method, route and status.",
    labelNames: ["method", "route", "status"] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: "http_request_duration_seconds",
    help: "Time from the request's arrival to the end of its response, by method, route and status.",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const modelInfo = new Gauge({
    name: "model_info",
    help: "The model serving now: 1 for its name, version and model file sha256.",
    labelNames: ["name", "version", "sha256"] as const,
    registers: [registry],
  });
  const reloads = new Counter({
    name: "model_reloads_total",
    help: "Model reload attempts, by trigger and outcome (loaded, unchanged, failed).",
    labelNames: ["trigger", "outcome"] as const,
    registers: [registry],
  });
  const prices = new Histogram({
    name: "predicted_price_dollars",
    help: "Distribution of predicted house prices.",
    buckets: [
      50_000, 100_000, 150_000, 200_000, 250_000, 300_000, 350_000, 400_000, 450_000, 500_000,
    ],
    registers: [registry],
  });
  return {
    registry,
    observeRequest(method, route, status, seconds) {
      const labels = { method, route, status: String(status) };
      requests.inc(labels);
      latency.observe(labels, seconds);
    },
    observePrediction(price) {
      prices.observe(price);
    },
    observePredictions(values) {
      for (let i = 0; i < values.length; i++) prices.observe(values[i]);
    },
    observeReload(result, trigger, model) {
      if (result.outcome !== "unchanged" || trigger === "admin")
        reloads.inc({ trigger, outcome: result.outcome });
      if (result.outcome === "loaded" && model) {
        modelInfo.reset();
        modelInfo.set(
          { name: model.name, version: model.version, sha256: model.manifest.model.sha256 },
          1,
        );
      }
    },
  };
}
