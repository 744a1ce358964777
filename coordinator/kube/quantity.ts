// Kubernetes resource quantities ("500m", "1.5Gi", "1e3", "100n") and a pod's effective request, as the scheduler
// counts it. @kubernetes/client-node's quantityToScalar cannot take a fraction with a binary or large suffix
// ("1.5Gi", "2.5k" throw), so the format is parsed here, after k8s.io/apimachinery's resource.Quantity.
import type { V1Container, V1Pod } from "@kubernetes/client-node";

const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};
const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
// <signedNumber><suffix>: digits with an optional fraction, then a binary or decimal suffix, or an exponent.
const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?\d+))?$/;

/** A quantity as a number (cores, bytes); undefined when it is not a Kubernetes quantity. */
export function parseQuantity(q: string): number | undefined {
  const m = QUANTITY.exec(q.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (m[3] !== undefined) return n * 10 ** Number(m[3]);
  const suffix = m[2] ?? "";
  return n * (BINARY[suffix] ?? DECIMAL[suffix] ?? 1);
}

/** A resource list's value for `resource`: 0 when absent or not a quantity. */
function amount(list: Record<string, string> | undefined, resource: string): number {
  const q = list?.[resource];
  return q === undefined ? 0 : (parseQuantity(q) ?? 0);
}

const request = (c: V1Container, resource: string) => amount(c.resources?.requests, resource);

/**
 * The pod's effective request for `resource`, as the scheduler computes it (k8s.io/component-helpers resource
 * PodRequests): the containers' sum, or the largest init container's if more (restartable "sidecar" init containers
 * running beside the later ones count in both), plus the pod's overhead.
 */
export function podRequest(pod: V1Pod, resource: string): number {
  let sum = (pod.spec?.containers ?? []).reduce((s, c) => s + request(c, resource), 0);
  let sidecars = 0;
  let initMax = 0;
  for (const c of pod.spec?.initContainers ?? []) {
    const own = request(c, resource);
    let whileRunning: number;
    if (c.restartPolicy === "Always") {
      sum += own;
      sidecars += own;
      whileRunning = sidecars;
    } else {
      whileRunning = own + sidecars;
    }
    initMax = Math.max(initMax, whileRunning);
  }
  return Math.max(sum, initMax) + amount(pod.spec?.overhead, resource);
}
