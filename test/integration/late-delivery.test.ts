// A change that the network held up must not act after a newer operation changed the node. When a node drops off in
// the middle of a call, the coordinator gives up and moves on, but the kernel that sent the request keeps
// retransmitting it (also after the process is gone); once the link is back the agent receives it whole, and its
// relative gRPC deadline looks fresh. The cluster-cycle e2e saw it once: a `cluster stop` that failed because a worker
// dropped off, then a `cluster start` that started everything, then the worker's kubelet stopped by the stop's late
// StopUnits. Here a TCP relay plays the network: it holds what the coordinator sends while "the link is down" and
// delivers it later, as the kernel's retransmission does. The coordinator's own client talks to a real agent over
// real mTLS (fake unit manager).
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, connect, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestPki, startTestAgent, type TestAgent, type TestPki } from "../../agent/testing/index.js";
import { AgentConnection } from "../../coordinator/index.js";
import type { OperationStamp, TlsMaterial } from "../../shared/index.js";

/** A TCP relay to `upstream` that can hold back what clients send, and deliver it later. */
class HoldingRelay {
  readonly server: Server;
  #holding = false;
  readonly #held: Array<() => void> = [];

  constructor(upstream: number) {
    this.server = createServer((client: Socket) => {
      const agent = connect(upstream, "127.0.0.1");
      agent.pipe(client);
      client.on("data", (chunk: Buffer) => {
        const send = () => agent.write(chunk);
        if (this.#holding) this.#held.push(send);
        else send();
      });
      // The client giving up (its FIN) is delivered after what it sent, as TCP does; its socket is gone.
      client.on("close", () => {
        const end = () => agent.end();
        if (this.#holding) this.#held.push(end);
        else end();
      });
      client.on("error", () => undefined);
      agent.on("error", () => client.destroy());
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return (this.server.address() as { port: number }).port;
  }

  /** The link goes down: what clients send from now on is held. */
  hold(): void {
    this.#holding = true;
  }

  /** The link is back: what was held arrives, in order. */
  release(): void {
    this.#holding = false;
    for (const send of this.#held.splice(0)) send();
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let dir: string;
let pki: TestPki;
let t: TestAgent;
let tls: TlsMaterial;
let relay: HoldingRelay;
let relayPort: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kc-late-"));
  pki = await createTestPki(dir);
  t = await startTestAgent({ pki, units: ["kubelet.service", "containerd.service"] });
  const [ca, cert, key] = await Promise.all(
    [pki.ca.caCert, pki.clients.operator.cert, pki.clients.operator.key].map((f) => readFile(f)),
  );
  tls = { ca: ca as Buffer, cert: cert as Buffer, key: key as Buffer };
  relay = new HoldingRelay(t.agent.port);
  relayPort = await relay.listen();
}, 30_000);
afterAll(async () => {
  await relay?.close();
  await t?.stop(true);
  await rm(dir, { recursive: true, force: true });
});

/** The coordinator's connection for one operation, through `port`. */
const connection = (port: number, operation: OperationStamp) =>
  new AgentConnection(
    { node: "localhost", address: `127.0.0.1:${port}`, tls },
    { operation: () => operation, unreachableMs: 1000 },
  );

const kubeletState = async () => (await t.manager.states(["kubelet.service"]))[0]?.activeState ?? "unknown";

/** Resolves once the agent has written an audit line for `op`'s StopUnits (or fails after `ms`). */
async function auditOf(op: string, ms = 10_000): Promise<Record<string, unknown>> {
  const until = Date.now() + ms;
  for (;;) {
    const line = t.logs.find((l) => l.audit === true && l.rpc === "StopUnits" && String(l.op).startsWith(op));
    if (line) return line;
    if (Date.now() > until) throw new Error(`no audit line for ${op}'s StopUnits within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("a change delivered late by the network", () => {
  it("is refused once a newer operation changed the node: the kubelet it started keeps running", async () => {
    const stop: OperationStamp = { op: "20261201T060000-cluster-stop-lab-aaaa", epoch: Date.now() - 60_000 };
    const start: OperationStamp = { op: "20261201T060100-cluster-start-lab-bbbb", epoch: Date.now() };
    // The stop's coordinator asks through the link, which goes down with the request in flight; it gives up.
    const stopper = connection(relayPort, stop);
    await stopper.health(); // connected before the link goes down
    relay.hold();
    await expect(
      stopper.stopUnits(
        { operationId: `${stop.op}.stop-kubelet.stop-units.node-1.kubelet`, units: [{ name: "kubelet.service" }] },
        { deadlineMs: 1500 },
      ),
    ).rejects.toThrow();
    stopper.close();
    expect(t.manager.calls.filter((c) => c.startsWith("stop"))).toEqual([]);
    // A newer operation reaches the node another way and changes it: kubelet runs.
    const starter = connection(t.agent.port, start);
    const started = await starter.startUnits({
      operationId: `${start.op}.start-kubelet.start-units.node-1.kubelet`,
      units: [{ name: "kubelet.service" }],
    });
    expect(started.ok).toBe(true);
    starter.close();
    // The link comes back and the held request arrives whole.
    relay.release();
    const late = await auditOf(stop.op);
    // The agent's word, and systemd's: refused as superseded, and kubelet never stopped.
    expect(late.result).toBe("refused");
    expect(late.code).toBe("SUPERSEDED");
    expect(t.manager.calls.filter((c) => c.startsWith("stop"))).toEqual([]);
    expect(await kubeletState()).toBe("active");
  });
});
