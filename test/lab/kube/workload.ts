// The lab's seeded workload, in the object shapes a real cluster has: three Deployments with their ReplicaSets
// (web: 4 replicas, PDB minAvailable 3; api: 2 replicas, PDB maxUnavailable 1; batch: 2 replicas, no PDB), each
// pod with cpu/memory requests, and the node-exporter DaemonSet in kube-system (it tolerates every taint, so it
// also runs on the tainted masters). The control plane's static pods come from kubeNodeFiles(). Seeding goes
// through @kubernetes/client-node, as kubecycle does; the lab has no Deployment controller (no rollouts), so the
// ReplicaSets are created here, owned by their Deployment, with the pod-template-hash label a rollout would set.
import { createHash } from "node:crypto";
import {
  ApiException,
  AppsV1Api,
  KubeConfig,
  PolicyV1Api,
  type V1DaemonSet,
  type V1Deployment,
  type V1PodDisruptionBudget,
  type V1PodTemplateSpec,
  type V1ReplicaSet,
} from "@kubernetes/client-node";

interface AppSpec {
  name: string;
  replicas: number;
  cpu: string;
  memory: string;
  pdb?: { minAvailable?: number; maxUnavailable?: number };
}

/** The seeded Deployments. */
export const SEEDED_APPS: readonly AppSpec[] = [
  { name: "web", replicas: 4, cpu: "100m", memory: "128Mi", pdb: { minAvailable: 3 } },
  { name: "api", replicas: 2, cpu: "200m", memory: "256Mi", pdb: { maxUnavailable: 1 } },
  { name: "batch", replicas: 2, cpu: "250m", memory: "512Mi" },
];
/** Namespace of the seeded Deployments. */
export const SEEDED_NAMESPACE = "default";
/** The seeded DaemonSet (namespace kube-system). */
export const SEEDED_DAEMONSET = "node-exporter";

function template(
  app: string,
  image: string,
  cpu: string,
  memory: string,
  extraLabels: Record<string, string> = {},
): V1PodTemplateSpec {
  return {
    metadata: { labels: { app, ...extraLabels } },
    spec: {
      containers: [{ name: app, image, resources: { requests: { cpu, memory }, limits: { memory } } }],
      terminationGracePeriodSeconds: 5,
    },
  };
}

async function ignoreExists(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof ApiException && err.code === 409)) throw err;
  }
}

/** Retries while the namespace is not there yet (the apiserver creates the system namespaces just after start). */
async function retryNotFound<T>(fn: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof ApiException && (err.code === 404 || err.code >= 500)) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Creates the workload (idempotent: objects that exist are left alone). */
export async function seedWorkload(kubeconfigText: string): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigText);
  const apps = kc.makeApiClient(AppsV1Api);
  const policy = kc.makeApiClient(PolicyV1Api);
  const namespace = SEEDED_NAMESPACE;

  for (const app of SEEDED_APPS) {
    const image = `registry.lab/${app.name}:1.0`;
    const hash = createHash("sha256")
      .update(`${app.name}${image}`)
      .digest("hex")
      .replace(/[^b-df-hj-np-tv-z2-9]/g, "")
      .slice(0, 10);
    const deployment: V1Deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: app.name, namespace, labels: { app: app.name } },
      spec: {
        replicas: app.replicas,
        selector: { matchLabels: { app: app.name } },
        template: template(app.name, image, app.cpu, app.memory),
      },
    };
    await retryNotFound(() => ignoreExists(apps.createNamespacedDeployment({ namespace, body: deployment })));
    const d = await apps.readNamespacedDeployment({ name: app.name, namespace });
    const rs: V1ReplicaSet = {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name: `${app.name}-${hash}`,
        namespace,
        labels: { app: app.name, "pod-template-hash": hash },
        annotations: {
          "deployment.kubernetes.io/revision": "1",
          "deployment.kubernetes.io/desired-replicas": String(app.replicas),
        },
        ownerReferences: [
          {
            apiVersion: "apps/v1",
            kind: "Deployment",
            name: app.name,
            uid: d.metadata?.uid ?? "",
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        replicas: app.replicas,
        selector: { matchLabels: { app: app.name, "pod-template-hash": hash } },
        template: template(app.name, image, app.cpu, app.memory, { "pod-template-hash": hash }),
      },
    };
    await ignoreExists(apps.createNamespacedReplicaSet({ namespace, body: rs }));
    if (app.pdb) {
      const pdb: V1PodDisruptionBudget = {
        apiVersion: "policy/v1",
        kind: "PodDisruptionBudget",
        metadata: { name: `${app.name}-pdb`, namespace },
        spec: { ...app.pdb, selector: { matchLabels: { app: app.name } } },
      };
      await ignoreExists(policy.createNamespacedPodDisruptionBudget({ namespace, body: pdb }));
    }
  }

  const dsTemplate = template(SEEDED_DAEMONSET, "quay.io/prometheus/node-exporter:v1.7.0", "50m", "64Mi");
  if (dsTemplate.spec) dsTemplate.spec.tolerations = [{ operator: "Exists" }];
  const ds: V1DaemonSet = {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: SEEDED_DAEMONSET, namespace: "kube-system", labels: { app: SEEDED_DAEMONSET } },
    spec: { selector: { matchLabels: { app: SEEDED_DAEMONSET } }, template: dsTemplate },
  };
  await retryNotFound(() => ignoreExists(apps.createNamespacedDaemonSet({ namespace: "kube-system", body: ds })));
}
