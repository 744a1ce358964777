// openssh-server in every node (`lab up --sshd`), so that the runbook's ssh loops can be run against the lab as
// written (bench/cluster-cycle's baselines): Debian's /usr/sbin/sshd as ssh.service (Debian's unit), listening on the
// node's lab address, with the node's own host key and root login with a key the lab generates. The client side is
// a ssh_config in the lab's state directory naming every node by both of its names, with the nodes' host keys
// pinned in a known_hosts of its own: `ssh -F .lab/ssh/config root@kclab-master-1 systemctl is-active kubelet`.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { exists, mustRun } from "./host.js";
import type { LabPaths, NodePlan } from "./layout.js";
import { stateName, type NodeParts, type StateDir } from "./nodes.js";

/**
 * sshd keeps its files in the common /etc/kubecycle-lab; root gets a home of its own per node, as on a real node. The
 * host's /root is this machine's and may run anything: bash sources ~/.bashrc for every `ssh NODE COMMAND` (Debian's
 * bash does so when sshd starts it), and a host ~/.bashrc that runs `pyenv init` costs seconds per connection, which
 * the runbook's ssh loops would then measure instead of ssh.
 */
export const SSHD_STATE: readonly StateDir[] = [{ target: "/root", kind: "dir", mode: 0o700 }];
export const SSHD_BINARY = "/usr/sbin/sshd";
const DIR = "/etc/kubecycle-lab/ssh";
const CONFIG = "/etc/kubecycle-lab/sshd_config";

/** Where the client side lives under the lab's state directory. */
export function sshPaths(paths: LabPaths) {
  const dir = paths.ssh;
  return { dir, key: join(dir, "id_ed25519"), knownHosts: join(dir, "known_hosts"), config: join(dir, "config") };
}

// Debian 12's ssh.service, with the lab's config file.
const UNIT = `# Debian's ssh.service (kubecycle lab: the config in /etc/kubecycle-lab)
[Unit]
Description=OpenBSD Secure Shell server
After=network.target auditd.service

[Service]
ExecStartPre=${SSHD_BINARY} -t -f ${CONFIG}
ExecStart=${SSHD_BINARY} -D -f ${CONFIG}
ExecReload=${SSHD_BINARY} -t -f ${CONFIG}
ExecReload=/bin/kill -HUP $MAINPID
KillMode=process
Restart=on-failure
RestartPreventExitStatus=255
Type=notify
RuntimeDirectory=sshd
RuntimeDirectoryMode=0755

[Install]
WantedBy=multi-user.target
Alias=sshd.service
`;

function sshdConfig(node: NodePlan): string {
  return `# sshd of a kubecycle lab node
ListenAddress ${node.ip}
HostKey ${DIR}/ssh_host_ed25519_key
AuthorizedKeysFile ${DIR}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
# PAM would bring the host's session stack (logind, loginuid) into the node; keys are all the lab needs.
UsePAM no
UseDNS no
PrintMotd no
AcceptEnv LANG LC_*
# The runbook's loops, run in parallel per phase, open one connection per node at once; many nodes, one client.
MaxStartups 200:30:400
MaxSessions 200
Subsystem sftp /usr/lib/openssh/sftp-server
`;
}

/** The client key pair, made once per lab. */
export async function makeClientKey(paths: LabPaths): Promise<void> {
  const p = sshPaths(paths);
  await mkdir(p.dir, { recursive: true, mode: 0o700 });
  if (!(await exists(p.key))) {
    await mustRun("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "kubecycle-lab", "-f", p.key]);
  }
}

/** The node's sshd: its own host key, the lab's client key authorized for root, the unit enabled. */
export async function sshdParts(node: NodePlan, paths: LabPaths): Promise<NodeParts> {
  const hostDir = join(paths.node(node.name), stateName("/etc/kubecycle-lab"), "ssh");
  await mkdir(hostDir, { recursive: true, mode: 0o755 });
  const hostKey = join(hostDir, "ssh_host_ed25519_key");
  if (!(await exists(hostKey))) {
    await mustRun("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `root@${node.hostname}`, "-f", hostKey]);
  }
  const clientPub = await readFile(`${sshPaths(paths).key}.pub`, "utf8");
  return {
    files: [
      { path: CONFIG, content: sshdConfig(node), mode: 0o644 },
      { path: `${DIR}/authorized_keys`, content: clientPub, mode: 0o600 },
    ],
    unitFiles: { "ssh.service": UNIT },
    enable: ["ssh.service"],
  };
}

/** The client's known_hosts (every node's host key under all its names) and ssh_config. */
export async function writeClientConfig(paths: LabPaths, plan: readonly NodePlan[]): Promise<void> {
  const p = sshPaths(paths);
  const names = (n: NodePlan) => [...new Set([n.name, n.kubeName, n.hostname, n.ip])];
  const known: string[] = [];
  for (const n of plan) {
    const pub = await readFile(
      join(paths.node(n.name), stateName("/etc/kubecycle-lab"), "ssh", "ssh_host_ed25519_key.pub"),
      "utf8",
    );
    const [type, key] = pub.trim().split(/\s+/);
    known.push(`${names(n).join(",")} ${type ?? ""} ${key ?? ""}`);
  }
  await writeFile(p.knownHosts, `${known.join("\n")}\n`, { mode: 0o600 });
  const hosts = plan.flatMap((n) =>
    names(n)
      .filter((x) => x !== n.ip)
      .map((x) => `Host ${x}\n  HostName ${n.ip}\n`),
  );
  await writeFile(
    p.config,
    `# ssh to the kubecycle lab's nodes as root: ssh -F ${p.config} root@NODE\n${hosts.join("")}` +
      `Host *\n  User root\n  IdentityFile ${p.key}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${p.knownHosts}\n` +
      "  StrictHostKeyChecking yes\n  GlobalKnownHostsFile /dev/null\n  LogLevel ERROR\n",
    { mode: 0o600 },
  );
}
