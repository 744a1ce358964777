// A crowd of viewers for the agent's flood test, on its own thread so that its client work does not run on the
// agent's event loop: it opens WatchStatus streams, and on "flood" fires concurrent GetStatus calls. Plain
// JavaScript (a worker runs it as it is). Test support only; never shipped.
import { credentials, loadPackageDefinition, Metadata } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { parentPort, workerData } from "node:worker_threads";

const { address, proto, ca, viewers, streams, reads } = workerData;
const pkg = loadPackageDefinition(
  loadSync(proto, { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true }),
);
const Agent = pkg.kubecycle.v1.Agent;
const clients = viewers.map(
  (v) =>
    new Agent(address, credentials.createSsl(Buffer.from(ca), Buffer.from(v.key), Buffer.from(v.cert)), {
      "grpc.ssl_target_name_override": "localhost",
    }),
);

const code = (err) => (err ? (err.metadata?.get("kubecycle-error-code")[0] ?? `grpc-${err.code}`) : "ok");
const unary = (c, method) =>
  new Promise((resolve) =>
    c[method]({}, new Metadata(), { deadline: new Date(Date.now() + 20_000) }, (err) => resolve(code(err))),
  );

const open = [];
await Promise.all(
  Array.from(
    { length: streams },
    (_, i) =>
      new Promise((resolve) => {
        const s = clients[i % clients.length].WatchStatus({ intervalMs: 1000 });
        open.push(s);
        s.once("data", () => resolve("ok"));
        // Every stream ends with an error event (CANCELLED) when it is cancelled: always listened to.
        s.on("error", (err) => resolve(code(err)));
      }),
  ),
).then((r) => parentPort.postMessage({ streaming: r.filter((x) => x === "ok").length }));

parentPort.on("message", async (m) => {
  if (m === "flood") {
    const res = await Promise.all(
      Array.from({ length: reads }, (_, i) => unary(clients[i % clients.length], "GetStatus")),
    );
    const counts = {};
    for (const r of res) counts[r] = (counts[r] ?? 0) + 1;
    parentPort.postMessage({ counts });
  } else if (m === "stop") {
    for (const s of open) s.cancel();
    for (const c of clients) c.close();
    parentPort.close();
  }
});
