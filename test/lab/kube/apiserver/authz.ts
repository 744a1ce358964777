// Authorization and auditing as the real apiserver does them with --authorization-mode=Node,RBAC and an audit log,
// reduced to what the lab needs. RBAC rules are evaluated as k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac does
// (a ClusterRoleBinding grants its rules everywhere, a RoleBinding in its namespace only; verbs, API groups,
// resources with subresources and resourceNames matched the same way, "*" included), but the RBAC objects come
// from a file given at start (--authorization-policy-file), not from the API. system:masters may do anything, as
// in every cluster; system:nodes too (the Node authorizer is not simulated: the kubelet stand-in is trusted).
// Every request of any other user is written to --audit-log-path, one JSON line each, with the decision.
import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { parseAllDocuments } from "yaml";
import { StatusError } from "./errors.js";

/** Who asks: the client certificate's CN and O's, plus the groups every authenticated user has. */
export interface UserInfo {
  user: string;
  groups: string[];
}

/** What is asked, in the authorizer's terms (k8s.io/apiserver/pkg/authorization/authorizer.Attributes). */
export interface RequestAttributes {
  verb: string;
  apiGroup: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs?: string[];
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

interface RbacObject {
  kind: string;
  metadata?: { name?: string; namespace?: string };
  rules?: PolicyRule[];
  roleRef?: { kind: string; name: string };
  subjects?: Subject[];
}

/** Groups whose members pass without RBAC: cluster admins, and the kubelets (the Node authorizer's job). */
const PRIVILEGED_GROUPS = ["system:masters", "system:nodes"];

const has = (list: string[] | undefined, value: string): boolean =>
  (list ?? []).includes("*") || (list ?? []).includes(value);

/** rbac.RuleAllows for a resource request. */
function ruleAllows(rule: PolicyRule, a: RequestAttributes): boolean {
  if (!has(rule.verbs, a.verb) || !has(rule.apiGroups, a.apiGroup)) return false;
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const resources = rule.resources ?? [];
  const resourceOk =
    resources.includes("*") ||
    resources.includes(combined) ||
    (a.subresource !== undefined && resources.includes(`*/${a.subresource}`));
  if (!resourceOk) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (a.name !== undefined && names.includes(a.name));
}

/** The RBAC objects of a policy file, and the decision for a request. */
export class RbacPolicy {
  readonly #objects: RbacObject[];

  constructor(objects: RbacObject[]) {
    for (const o of objects) {
      if (!["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"].includes(o.kind)) {
        throw new Error(`authorization policy: ${o.kind} is not an RBAC object`);
      }
    }
    this.#objects = objects;
  }

  /** Reads a multi-document YAML file of ClusterRoles, ClusterRoleBindings, Roles and RoleBindings. */
  static fromFile(path: string): RbacPolicy {
    const docs = parseAllDocuments(readFileSync(path, "utf8"))
      .map((d) => d.toJS() as RbacObject | null)
      .filter((d): d is RbacObject => d !== null);
    return new RbacPolicy(docs);
  }

  #role(kind: string, name: string, namespace?: string): RbacObject | undefined {
    return this.#objects.find(
      (o) =>
        o.kind === kind && o.metadata?.name === name && (kind === "ClusterRole" || o.metadata?.namespace === namespace),
    );
  }

  #bound(b: RbacObject, who: UserInfo): boolean {
    return (b.subjects ?? []).some(
      (s) => (s.kind === "User" && s.name === who.user) || (s.kind === "Group" && who.groups.includes(s.name)),
    );
  }

  /** Every rule a binding grants, with the role it is in and where it applies (undefined: everywhere). */
  #grants(): Array<{ binding: RbacObject; role: RbacObject; rule: PolicyRule; namespace?: string }> {
    return this.#objects.flatMap((b) => {
      if (!b.roleRef) return [];
      const role =
        b.kind === "ClusterRoleBinding"
          ? b.roleRef.kind === "ClusterRole"
            ? this.#role("ClusterRole", b.roleRef.name)
            : undefined
          : this.#role(b.roleRef.kind, b.roleRef.name, b.metadata?.namespace);
      if (!role) return [];
      const namespace = b.kind === "RoleBinding" ? b.metadata?.namespace : undefined;
      return (role.rules ?? []).map((rule) => ({ binding: b, role, rule, ...(namespace ? { namespace } : {}) }));
    });
  }

  /** Whether `who` may do `a`. */
  allows(who: UserInfo, a: RequestAttributes): boolean {
    if (who.groups.some((g) => PRIVILEGED_GROUPS.includes(g))) return true;
    return this.#grants().some(
      (g) =>
        this.#bound(g.binding, who) &&
        (g.namespace === undefined || g.namespace === a.namespace) &&
        ruleAllows(g.rule, a),
    );
  }

  /**
   * What the policy grants that none of `requests` used: each verb on each resource of each rule must have allowed
   * at least one request of a bound subject, or the policy grants more than was asked for. Named as
   * "Role kube-system/x: get leases kubecycle-lock".
   */
  unusedGrants(requests: ReadonlyArray<{ who: UserInfo; attrs: RequestAttributes }>): string[] {
    return this.#grants().flatMap((g) =>
      (g.rule.verbs ?? []).flatMap((verb) =>
        (g.rule.resources ?? []).flatMap((resource) => {
          const one: PolicyRule = { ...g.rule, verbs: [verb], resources: [resource] };
          const used = requests.some(
            ({ who, attrs }) =>
              this.#bound(g.binding, who) &&
              (g.namespace === undefined || g.namespace === attrs.namespace) &&
              ruleAllows(one, attrs),
          );
          const where = g.role.metadata?.namespace ? `${g.role.metadata.namespace}/` : "";
          const names = g.rule.resourceNames?.length ? ` ${g.rule.resourceNames.join(",")}` : "";
          return used ? [] : [`${g.role.kind} ${where}${g.role.metadata?.name ?? "?"}: ${verb} ${resource}${names}`];
        }),
      ),
    );
  }
}

/** The Forbidden error the real apiserver answers (k8s.io/apiserver/pkg/endpoints/handlers/responsewriters). */
export function forbidden(who: UserInfo, a: RequestAttributes): StatusError {
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const scope = a.namespace !== undefined ? `in the namespace "${a.namespace}"` : "at the cluster scope";
  const what = a.name ? `${a.resource}${a.apiGroup ? `.${a.apiGroup}` : ""} "${a.name}"` : resource;
  return new StatusError(
    403,
    "Forbidden",
    `${what} is forbidden: User "${who.user}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" ${scope}`,
    { ...(a.name ? { name: a.name } : {}), group: a.apiGroup, kind: a.resource },
  );
}

/** One line of the audit log. */
export interface AuditRecord extends RequestAttributes {
  user: string;
  groups: string[];
  allowed: boolean;
}

/** Appends the audit records of the users RBAC decides for (not of the privileged groups). */
export class AuditLog {
  readonly #path: string;

  constructor(path: string) {
    this.#path = path;
    mkdirSync(dirname(path), { recursive: true });
  }

  record(who: UserInfo, a: RequestAttributes, allowed: boolean): void {
    if (who.groups.some((g) => PRIVILEGED_GROUPS.includes(g))) return;
    const line: AuditRecord = { user: who.user, groups: who.groups, ...a, allowed };
    appendFileSync(this.#path, `${JSON.stringify(line)}\n`);
  }
}
