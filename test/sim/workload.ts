// Workloads as large clusters run them: many controllers, each with its pods spread over the workers, in several
// namespaces. For the drain's tests and its request benchmark (the spec's workloadPods are one ReplicaSet's).
import type { SimCluster } from "./model.js";

/**
 * Replaces the workers' workload pods by `perNode` pods each, owned by `controllers` ReplicaSets (pod i of worker w
 * belongs to controller (w * perNode + i) mod controllers) in `namespaces` namespaces, each carrying its
 * controller's labels as a Deployment's pods do.
 */
export function spreadWorkload(
  cluster: SimCluster,
  opts: { perNode: number; controllers: number; namespaces: number },
): void {
  const workers = [...cluster.nodes.values()].filter((n) => !n.spec.controlPlane);
  workers.forEach((n, w) => {
    n.sandboxes = n.sandboxes.filter((s) => s.owner.kind !== "ReplicaSet");
    for (let i = 0; i < opts.perNode; i++) {
      const c = (w * opts.perNode + i) % opts.controllers;
      const app = `app-${c}`;
      n.sandboxes.push({
        id: `sb-${n.name}-${i}`,
        name: `${app}-${n.name}-${i}`,
        namespace: `ns-${c % opts.namespaces}`,
        scope: "workload",
        ready: true,
        labels: { app, "pod-template-hash": `h${c}` },
        owner: { kind: "ReplicaSet", name: app },
        restarts: 0,
      });
    }
  });
}
