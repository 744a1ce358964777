// The longest waits an agent accepts in a request by default (its config's maxima): the agent refuses a request above
// them, and the coordinator's config refuses timeouts above them when it is read, so the two cannot disagree halfway
// through a procedure. An agent configured lower refuses with a clear error naming the field.

/** A unit's settle timeout (StopUnits/StartUnits settle_timeout_ms): 15 min. */
export const MAX_UNIT_SETTLE_MS = 900_000;
/** Stopping a node's pod sandboxes, grace periods included (StopPodSandboxes timeout_ms): 1 h. */
export const MAX_POD_SANDBOXES_MS = 3_600_000;
/** One etcd status probe (EtcdStatus timeout_ms): 30 s; a read any viewer may ask for must stay cheap. */
export const MAX_ETCD_PROBE_MS = 30_000;
/** One control-plane health probe (ProbeComponents timeout_ms): 10 s. */
export const MAX_COMPONENT_PROBE_MS = 10_000;
/** Taking an etcd snapshot (EtcdSnapshot timeout_ms): 1 h. */
export const MAX_SNAPSHOT_MS = 3_600_000;
