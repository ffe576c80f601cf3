// The Kubernetes base, built with kustomize as a cluster would receive it, and its objects
// checked: probes, security, resources, the disruption budget, the Service, and the registry
// token wired from a Secret. The example overlay is built too, with a token file made here.
import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { findGoTool } from "../../.github/act.ts";
import { imageFacts } from "../../tools/container/dockerfile.ts";
import { requireTool } from "../../tools/container/test-tools.ts";
import { parseEnv } from "../server/config.ts";

const K8S = fileURLToPath(new URL(".", import.meta.url));
const COMPOSE_FILE = fileURLToPath(new URL("../compose.yaml", import.meta.url));
const run = promisify(execFile);

const kustomize = requireTool(
  "kubernetes base",
  await findGoTool("kustomize"),
  "kustomize is not installed (go install sigs.k8s.io/kustomize/kustomize/v5@v5.7.1)",
);

// Just the fields these checks read.
interface Probe {
  httpGet: { path: string; port: string };
}
interface Container {
  name: string;
  image: string;
  ports: { name: string; containerPort: number }[];
  env?: { name: string; value: string }[];
  envFrom?: { configMapRef: { name: string } }[];
  readinessProbe: Probe;
  livenessProbe: Probe;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext: {
    allowPrivilegeEscalation: boolean;
    readOnlyRootFilesystem: boolean;
    capabilities: { drop: string[] };
  };
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface Volume {
  name: string;
  secret?: { secretName: string };
  emptyDir?: Record<string, string>;
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec: {
    replicas?: number;
    selector: Record<string, string> & { matchLabels?: Record<string, string> };
    minAvailable?: number;
    ports?: { name: string; port: number; targetPort: string }[];
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        automountServiceAccountToken: boolean;
        securityContext: { runAsNonRoot: boolean; runAsUser: number; runAsGroup: number };
        containers: Container[];
        volumes: Volume[];
      };
    };
  };
}

/** `kustomize build dir`, parsed with the yaml package: every document must parse cleanly. */
async function build(dir: string): Promise<K8sObject[]> {
  const { stdout } = await run(kustomize as string, ["build", dir]);
  const documents = parseAllDocuments(stdout);
  for (const document of documents) expect(document.errors).toEqual([]);
  return documents.map((document) => document.toJS() as K8sObject);
}

const only = (objects: K8sObject[], kind: string) => {
  const found = objects.filter((object) => object.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0];
};

/** The environment the server container gets: its ConfigMap's data plus its own env. */
function containerEnv(objects: K8sObject[]): Record<string, string> {
  const [container] = only(objects, "Deployment").spec.template.spec.containers;
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const configMap = objects.find(
      (object) => object.kind === "ConfigMap" && object.metadata.name === source.configMapRef.name,
    );
    expect(configMap, `ConfigMap ${source.configMapRef.name}`).toBeDefined();
    Object.assign(env, configMap?.data);
  }
  for (const variable of container.env ?? []) env[variable.name] = variable.value;
  return env;
}

describe.skipIf(kustomize === null)("deploy/k8s", () => {
  let objects: K8sObject[];
  let deployment: K8sObject;
  let container: Container;
  let work: string;

  beforeAll(async () => {
    objects = await build(join(K8S, "base"));
    deployment = only(objects, "Deployment");
    [container] = deployment.spec.template.spec.containers;
    work = await mkdtemp(join(tmpdir(), "k8s-"));
  });

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("builds to a Deployment, a Service, a PodDisruptionBudget and the settings' ConfigMap", () => {
    expect(objects.map((object) => object.kind).sort()).toEqual([
      "ConfigMap",
      "Deployment",
      "PodDisruptionBudget",
      "Service",
    ]);
    expect(deployment.spec.template.spec.containers).toHaveLength(1);
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
  });

  it("probes readiness on /ready and liveness on /health, at the image's port", () => {
    const http = container.ports.find((port) => port.name === "http");
    expect(http?.containerPort).toBe(imageFacts().port);
    expect(container.readinessProbe.httpGet).toEqual({ path: "/ready", port: "http" });
    expect(container.livenessProbe.httpGet).toEqual({ path: "/health", port: "http" });
  });

  it("runs as the image's non-root user on a read-only root file system, writing only to volumes", () => {
    const pod = deployment.spec.template.spec;
    const [uid, gid] = imageFacts().user.split(":").map(Number);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: uid,
      runAsGroup: gid,
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    const env = containerEnv(objects);
    const writable = container.volumeMounts.filter((mount) => !mount.readOnly);
    expect(writable.map((mount) => mount.mountPath).sort()).toEqual(
      [env.MODEL_CACHE_DIR, "/tmp"].sort(),
    );
    for (const mount of writable) {
      expect(pod.volumes.find((volume) => volume.name === mount.name)?.emptyDir).toBeDefined();
    }
  });

  it("requests and limits CPU and memory", () => {
    for (const bound of [container.resources.requests, container.resources.limits]) {
      expect(Object.keys(bound).sort()).toEqual(["cpu", "memory"]);
    }
  });

  it("selects its pods from the Service and the PodDisruptionBudget", () => {
    const podLabels = deployment.spec.template.metadata.labels;
    expect(podLabels).toMatchObject(deployment.spec.selector.matchLabels ?? {});
    const service = only(objects, "Service");
    expect(podLabels).toMatchObject(service.spec.selector);
    expect(service.spec.ports?.map((port) => port.targetPort)).toEqual(["http"]);
    const budget = only(objects, "PodDisruptionBudget");
    expect(podLabels).toMatchObject(budget.spec.selector.matchLabels ?? {});
    expect(budget.spec.minAvailable).toBeLessThan(deployment.spec.replicas ?? 1);
  });

  it("reads the registry token from a Secret volume, never from the environment", async () => {
    const env = containerEnv(objects);
    expect(env.MODEL_SOURCE).toBe("registry");
    const mount = container.volumeMounts.find((candidate) =>
      env.REGISTRY_TOKEN_FILE.startsWith(`${candidate.mountPath}/`),
    );
    expect(mount?.readOnly).toBe(true);
    const volume = deployment.spec.template.spec.volumes.find((v) => v.name === mount?.name);
    expect(volume?.secret?.secretName).toBe("house-price-registry");
    expect(Object.keys(env).filter((name) => /TOKEN$/.test(name))).toEqual([]);
    // The server accepts these settings, the token read from the mounted file (made here).
    const tokenFile = join(work, "token");
    await writeFile(tokenFile, "github_pat_test");
    expect(parseEnv({ ...env, REGISTRY_TOKEN_FILE: tokenFile }).source).toMatchObject({
      kind: "registry",
      repository: env.REGISTRY_REPOSITORY,
      token: "github_pat_test",
      cacheDir: env.MODEL_CACHE_DIR,
    });
  });

  it("sets the same registry settings as the Compose file", async () => {
    const compose = parse(await readFile(COMPOSE_FILE, "utf8")) as {
      services: { prediction: { environment: Record<string, string> } };
    };
    const composeEnv = compose.services.prediction.environment;
    const registryNames = (env: Record<string, string>) =>
      Object.keys(env).filter(
        (name) => /^(MODEL_|GITHUB_|REGISTRY_)/.test(name) && name !== "GITHUB_API_URL",
      );
    expect(registryNames(containerEnv(objects)).sort()).toEqual(registryNames(composeEnv).sort());
    expect(containerEnv(objects).MODEL_SOURCE).toBe(composeEnv.MODEL_SOURCE);
  });

  it("the example overlay sets image, repository and token, and the Deployment follows the Secret's generated name", async () => {
    await cp(K8S, join(work, "k8s"), { recursive: true });
    const token = "github_pat_test_0123456789";
    await writeFile(join(work, "k8s", "example", "registry-token"), token);
    const overlay = await build(join(work, "k8s", "example"));
    const secret = only(overlay, "Secret");
    expect(Buffer.from(secret.data?.token ?? "", "base64").toString()).toBe(token);
    const overlayDeployment = only(overlay, "Deployment");
    const [overlayContainer] = overlayDeployment.spec.template.spec.containers;
    const tokenVolume = overlayDeployment.spec.template.spec.volumes.find((v) => v.secret);
    expect(tokenVolume?.secret?.secretName).toBe(secret.metadata.name);
    expect(secret.metadata.name).toMatch(/^house-price-registry-[a-z0-9]+$/);
    expect(overlayContainer.image).toMatch(/^ghcr\.io\/.+-prediction:/);
    expect(containerEnv(overlay).REGISTRY_REPOSITORY).not.toBe(
      containerEnv(objects).REGISTRY_REPOSITORY,
    );
    // The token appears in the Secret only.
    const elsewhere = JSON.stringify(overlay.filter((object) => object.kind !== "Secret"));
    expect(elsewhere).not.toContain(token);
  });
});
