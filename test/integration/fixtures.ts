import type { AgentConnection } from "../../coordinator/index.js";

/**
 * Stand-in units for the single-node agent tests. They behave like the real ones where the agent's logic depends on
 * it: a simple daemon (kubelet, containerd), a Type=notify daemon that becomes ready only when told (etcd waiting
 * for quorum), a unit that fails at start with a message in its journal, one that ignores SIGTERM, and a unit that
 * is running but not on the allow-list (sshd).
 */
export const TEST_UNITS: Record<string, string> = {
  "kubelet.service": daemon("kubelet stand-in"),
  "containerd.service": daemon("containerd stand-in"),
  "sshd.service": daemon("not on the allow-list"),
  "etcd.service": `[Unit]
Description=etcd stand-in (Type=notify; not ready while /run/etcd-hold exists, like etcd without quorum)
[Service]
Type=notify
NotifyAccess=all
ExecStart=/bin/sh -c 'while [ -e /run/etcd-hold ]; do sleep 0.1; done; systemd-notify --ready; exec sleep infinity'
TimeoutStartSec=120
[Install]
WantedBy=multi-user.target
`,
  "broken.service": `[Unit]
Description=a unit that cannot start
[Service]
Type=exec
ExecStart=/bin/sh -c 'echo "broken: cannot read /etc/broken.conf" >&2; exit 3'
`,
  "stubborn.service": `[Unit]
Description=a unit that ignores SIGTERM
[Service]
Type=simple
ExecStart=/bin/sh -c 'trap "echo stubborn: ignoring SIGTERM" TERM; while :; do sleep 0.2; done'
TimeoutStopSec=120
`,
};

function daemon(description: string): string {
  return `[Unit]
Description=${description}
[Service]
Type=simple
ExecStart=/bin/sleep infinity
[Install]
WantedBy=multi-user.target
`;
}

/** Waits until the agent answers Health (it has just been started or restarted). */
export async function waitForAgent(agent: AgentConnection, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const h = await agent.health({ deadlineMs: 1000 });
      if (h.state === "serving") return;
      last = new Error(`agent is ${h.state}`);
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`agent did not serve within ${timeoutMs} ms: ${String(last)}`);
}
