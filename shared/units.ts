import { KubecycleError } from "./errors.js";

/**
 * The units an agent may touch unless its config says otherwise. The socket units are there because a socket-activated
 * runtime must be stopped with its socket, or the next client starts it again; cri-dockerd's upstream units are named
 * cri-docker.service/.socket, packages also ship cri-dockerd.service.
 */
export const DEFAULT_ALLOWED_UNITS: readonly string[] = Object.freeze([
  "kubelet.service",
  "etcd.service",
  "containerd.service",
  "docker.service",
  "cri-dockerd.service",
  "docker.socket",
  "cri-dockerd.socket",
  "cri-docker.service",
  "cri-docker.socket",
]);

/** systemd caps unit names at 255 characters (UNIT_NAME_MAX). */
export const UNIT_NAME_MAX = 255;

// A conservative subset of systemd's unit-name grammar: no path separators, no shell metacharacters, no templates.
const UNIT_NAME = /^[A-Za-z0-9][A-Za-z0-9:_.-]*$/;
const UNIT_SUFFIX = /\.(service|socket|target|timer|mount|path|slice|scope)$/;

/**
 * Turns "kubelet" or "kubelet.service" into the canonical "kubelet.service", or throws INVALID_UNIT_NAME.
 * The name is checked before anything else sees it, so nothing malformed ever reaches systemctl.
 */
export function normalizeUnitName(raw: unknown): string {
  if (typeof raw !== "string" || raw.length === 0) {
    throw new KubecycleError("INVALID_UNIT_NAME", "unit name is empty", { unit: "" });
  }
  const name = UNIT_SUFFIX.test(raw) ? raw : `${raw}.service`;
  if (name.length > UNIT_NAME_MAX) {
    throw new KubecycleError(
      "INVALID_UNIT_NAME",
      `unit name is ${raw.length} characters long; systemd allows at most ${UNIT_NAME_MAX}`,
      { unit: raw.slice(0, 64) },
    );
  }
  if (!UNIT_NAME.test(name) || name.includes("..")) {
    throw new KubecycleError(
      "INVALID_UNIT_NAME",
      `${JSON.stringify(raw.slice(0, 64))} is not a valid unit name (letters, digits and ":_.-" only)`,
      { unit: raw.slice(0, 64) },
    );
  }
  return name;
}

/** Validates a unit name and checks it against an allow-list of canonical names; throws UNIT_NOT_ALLOWED otherwise. */
export function allowedUnit(raw: unknown, allowList: readonly string[]): string {
  const name = normalizeUnitName(raw);
  if (!allowList.includes(name)) {
    throw new KubecycleError(
      "UNIT_NOT_ALLOWED",
      `unit ${name} is not on this agent's allow-list (${allowList.join(", ")})`,
      {
        unit: name,
        hint: "add it to units.allow in the agent's config if kubecycle should manage it",
      },
    );
  }
  return name;
}
