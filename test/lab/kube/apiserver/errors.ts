// API errors as the real apiserver writes them: a metav1.Status with code, reason, message and details. The
// messages follow k8s.io/apimachinery/pkg/api/errors word for word where clients (kubectl, drain code) match them.
import type { ResourceInfo } from "./resources.js";

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** A metav1.Status body. */
export interface StatusBody {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure" | "Success";
  message?: string;
  reason?: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: StatusCause[];
    retryAfterSeconds?: number;
  };
  code: number;
}

/** An error the server answers with a Status. */
export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusBody["details"],
  ) {
    super(message);
  }

  body(): StatusBody {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** `pods` or `leases.coordination.k8s.io`, as error messages name a resource. */
export function qualified(res: ResourceInfo): string {
  return res.group ? `${res.plural}.${res.group}` : res.plural;
}

const details = (res: ResourceInfo, name: string): StatusBody["details"] => ({
  name,
  ...(res.group ? { group: res.group } : {}),
  kind: res.plural,
});

export const notFound = (res: ResourceInfo, name: string): StatusError =>
  new StatusError(404, "NotFound", `${qualified(res)} "${name}" not found`, details(res, name));

export const alreadyExists = (res: ResourceInfo, name: string): StatusError =>
  new StatusError(409, "AlreadyExists", `${qualified(res)} "${name}" already exists`, details(res, name));

export const conflict = (res: ResourceInfo, name: string, why?: string): StatusError =>
  new StatusError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualified(res)} "${name}": ${
      why ?? "the object has been modified; please apply your changes to the latest version and try again"
    }`,
    details(res, name),
  );

export const badRequest = (message: string): StatusError => new StatusError(400, "BadRequest", message);

export const invalid = (res: ResourceInfo, name: string, causes: StatusCause[]): StatusError =>
  new StatusError(
    422,
    "Invalid",
    `${res.kind} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(", ")}`,
    { ...details(res, name), kind: res.kind, causes },
  );

export const methodNotAllowed = (): StatusError =>
  new StatusError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");

export const unsupportedMediaType = (ct: string): StatusError =>
  new StatusError(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got ${ct})`,
  );

export const serverTimeout = (): StatusError =>
  new StatusError(
    504,
    "Timeout",
    "Timeout: request did not complete within requested timeout - context deadline exceeded",
    {},
  );

export const internal = (message: string): StatusError =>
  new StatusError(500, "InternalError", `Internal error occurred: ${message}`, { causes: [{ message }] });

export const unauthorized = (): StatusError => new StatusError(401, "Unauthorized", "Unauthorized");

export const expired = (message: string): StatusError => new StatusError(410, "Expired", message);
