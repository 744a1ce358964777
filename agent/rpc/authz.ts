import { KubecycleError, type Role } from "../../shared/index.js";
import type { Caller } from "./caller.js";

/** The roles one RPC is open to. */
export type Roles = readonly Role[];
/** Reads: every kubecycle role. */
export const ANY_ROLE: Roles = Object.freeze(["operator", "viewer"] as const);
/** Changes, and what holds the cluster's secrets: operators only. */
export const OPERATOR_ONLY: Roles = Object.freeze(["operator"] as const);

/**
 * Method name -> the roles it is open to. Default deny: a method that is not in the table is refused to everyone,
 * so a new RPC is closed until its author says who may call it.
 */
export type AuthorizationTable = Readonly<Record<string, Roles>>;

/** Throws PERMISSION_DENIED unless `table` opens `method` to the caller's role. */
export function authorize(table: AuthorizationTable, method: string, caller: Caller): Role {
  const roles = Object.hasOwn(table, method) ? table[method] : undefined;
  if (!roles) {
    throw new KubecycleError("PERMISSION_DENIED", `${method} is not open to any role on this agent`, {
      rpc: method,
      hint: "this agent's authorization table does not list the method; it may be newer than the agent",
    });
  }
  if (!caller.role) {
    throw new KubecycleError(
      "PERMISSION_DENIED",
      `certificate ${caller.identity || "(no CN)"} (${caller.subject}) grants no kubecycle role`,
      { hint: "use a client certificate issued by `kubecycle pki client --role operator|viewer`" },
    );
  }
  if (!roles.includes(caller.role)) {
    throw new KubecycleError(
      "PERMISSION_DENIED",
      `${caller.identity} is a ${caller.role}; ${method} is for ${roles.map((r) => `${r}s`).join(" and ")} only`,
      { rpc: method, hint: `use an ${roles[0] ?? "operator"} certificate (O=kubecycle:${roles[0] ?? "operator"})` },
    );
  }
  return caller.role;
}
