import type { NodeRuntime } from "./types.js";

/** The runtime's units to start, in order: each part's socket unit before its service (containerd, docker, cri-dockerd). */
export function runtimeStartOrder(rt: NodeRuntime): string[] {
  return rt.units.flatMap((u) => (u.socket ? [u.socket, u.service] : [u.service]));
}

/**
 * The runtime's units to stop, in order: the parts in reverse (cri-dockerd, docker, containerd), each part's socket
 * unit before its service, because a socket left listening starts its service again at the next client.
 */
export function runtimeStopOrder(rt: NodeRuntime): string[] {
  return [...rt.units].reverse().flatMap((u) => (u.socket ? [u.socket, u.service] : [u.service]));
}
