// The longest waits an agent accepts in a request: the agent refuses or caps above them, and the coordinator's
// config refuses timeouts above them when it is read, so the two can never disagree halfway through a procedure.

/** A unit's settle timeout (StopUnits/StartUnits settle_timeout_ms): 15 min. */
export const MAX_UNIT_SETTLE_MS = 900_000;
/** Stopping a node's pod sandboxes, grace periods included (StopPodSandboxes timeout_ms): 1 h. */
export const MAX_POD_SANDBOXES_MS = 3_600_000;
/** One etcd status probe (EtcdStatus timeout_ms): 1 min; a read any viewer may ask for must stay cheap. */
export const MAX_ETCD_PROBE_MS = 60_000;
/** Taking an etcd snapshot (EtcdSnapshot timeout_ms): 1 h. */
export const MAX_SNAPSHOT_MS = 3_600_000;
