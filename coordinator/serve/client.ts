import { Metadata, type ServiceError } from "@grpc/grpc-js";
import {
  fromGrpcError,
  loadRegistryProto,
  serveDial,
  type RegistryClient,
  type ReportList__Output,
  type TlsMaterial,
} from "../../shared/index.js";

/** A connection to `kubecycle serve` as a reader (operator or viewer certificate): what `status` asks it. */
export class ServeConnection {
  readonly endpoint: string;
  readonly #client: RegistryClient;

  /** `serverName`: the name serve's certificate must carry; default the endpoint's host. */
  constructor(endpoint: string, tls: TlsMaterial, serverName?: string) {
    this.endpoint = endpoint;
    const Registry = loadRegistryProto().kubecycle.v1.Registry;
    const dial = serveDial(endpoint, tls, serverName);
    this.#client = new Registry(endpoint, dial.credentials, dial.options);
  }

  /** Every node's last report and the armed start, if any. */
  listReports(deadlineMs: number): Promise<ReportList__Output> {
    return new Promise((resolve, reject) => {
      this.#client.ListReports(
        {},
        new Metadata(),
        { deadline: new Date(Date.now() + deadlineMs) },
        (err: ServiceError | null, res?: ReportList__Output) => {
          if (err || !res) reject(fromGrpcError(err, { rpc: "ListReports", node: this.endpoint, peer: "serve" }));
          else resolve(res);
        },
      );
    });
  }

  close(): void {
    this.#client.close();
  }
}
