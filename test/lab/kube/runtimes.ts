// The container runtimes a lab node can run, each as its real units are laid out: containerd (containerd.service,
// its socket made by the daemon), or docker with cri-dockerd (docker.service + docker.socket, cri-docker.service +
// cri-docker.socket, both socket-activated). Both run the same runtime stand-in (runtime/main.ts); docker's CRI is
// reached through the cri-dockerd stand-in, as on a real docker node.

export type RuntimeKind = "containerd" | "docker";

/** One runtime: its units and where the kubelet and crictl reach it. */
export interface RuntimeSpec {
  kind: RuntimeKind;
  /** The CRI endpoint the kubelet (--container-runtime-endpoint) and crictl use. */
  criEndpoint: string;
  /** The runtime's services, in start order (the kubelet is ordered after them). */
  services: string[];
  /** Its socket units (none for containerd, whose daemon makes its own socket). */
  sockets: string[];
  /** Per-node writable directory for its container logs. */
  rootDir: string;
  /** Unit name -> unit file; all of them are enabled. */
  unitFiles(node: string, binDir: string): Record<string, string>;
}

const containerd: RuntimeSpec = {
  kind: "containerd",
  criEndpoint: "unix:///run/containerd/containerd.sock",
  services: ["containerd.service"],
  sockets: [],
  rootDir: "/var/lib/containerd-lab",
  unitFiles: (node, binDir) => ({
    "containerd.service": `# containerd stand-in (kubecycle lab): the real unit's Type, KillMode and restart policy.
[Unit]
Description=containerd container runtime (kubecycle lab stand-in)
After=network.target local-fs.target

[Service]
Type=notify
NotifyAccess=all
ExecStart=${node} ${binDir}/containerd.mjs --address /run/containerd/containerd.sock --state /run/containerd-lab --root /var/lib/containerd-lab
# The containers are this unit's child processes: stopping the unit must leave them running, as the real unit does.
KillMode=process
Delegate=yes
Restart=always
RestartSec=2
TimeoutStartSec=30
LimitNOFILE=infinity
OOMScoreAdjust=-999

[Install]
WantedBy=multi-user.target
`,
  }),
};

// Upstream's units (moby's contrib/init/systemd, cri-dockerd's packaging/systemd), with three differences: no
// SocketGroup=docker (the nodes share the host's /etc/group, which has no docker group); no containerd.service
// (docker-ce's containerd holds the containers on a real node; here the docker stand-in holds them itself); and
// NotifyAccess=all, because the stand-ins signal readiness through systemd-notify, a child process.
// docker.socket has no PartOf=docker.service, as docker-ce shipped it for years: `systemctl stop docker` then
// leaves the socket listening, and the next client (cri-dockerd, on the kubelet's next call) starts docker again.
// That is the trap kubecycle must avoid by stopping docker.socket too. cri-docker.socket is PartOf= its service.
const docker: RuntimeSpec = {
  kind: "docker",
  criEndpoint: "unix:///run/cri-dockerd.sock",
  services: ["docker.service", "cri-docker.service"],
  sockets: ["docker.socket", "cri-docker.socket"],
  rootDir: "/var/lib/docker-lab",
  unitFiles: (node, binDir) => ({
    "docker.socket": `# docker.socket (kubecycle lab stand-in; upstream's, see test/lab/kube/runtimes.ts)
[Unit]
Description=Docker Socket for the API

[Socket]
ListenStream=/run/docker.sock
SocketMode=0660
SocketUser=root

[Install]
WantedBy=sockets.target
`,
    "docker.service": `# docker.service (kubecycle lab stand-in: the lab's runtime under docker's unit, socket-activated)
[Unit]
Description=Docker Application Container Engine (kubecycle lab stand-in)
After=network-online.target docker.socket firewalld.service time-set.target
Wants=network-online.target
Requires=docker.socket

[Service]
Type=notify
NotifyAccess=all
ExecStart=${node} ${binDir}/dockerd.mjs --address fd:// --lab-runtime docker --state /run/docker-lab --root /var/lib/docker-lab
ExecReload=/bin/kill -s HUP $MAINPID
TimeoutStartSec=0
RestartSec=2
Restart=always
StartLimitBurst=3
StartLimitInterval=60s
LimitNOFILE=infinity
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
# set delegate yes so that systemd does not reset the cgroups of docker containers
Delegate=yes
# kill only the docker process, not all processes in the cgroup
KillMode=process
OOMScoreAdjust=-500

[Install]
WantedBy=multi-user.target
`,
    "cri-docker.socket": `# cri-docker.socket (kubecycle lab stand-in; upstream's, see test/lab/kube/runtimes.ts)
[Unit]
Description=CRI Docker Socket for the API
PartOf=cri-docker.service

[Socket]
ListenStream=%t/cri-dockerd.sock
SocketMode=0660
SocketUser=root

[Install]
WantedBy=sockets.target
`,
    "cri-docker.service": `# cri-docker.service (kubecycle lab stand-in: forwards the CRI to the docker stand-in)
[Unit]
Description=CRI Interface for Docker Application Container Engine (kubecycle lab stand-in)
After=network-online.target firewalld.service docker.service
Wants=network-online.target
Requires=cri-docker.socket

[Service]
Type=notify
NotifyAccess=all
ExecStart=${node} ${binDir}/cri-dockerd.mjs --container-runtime-endpoint fd:// --network-plugin=
ExecReload=/bin/kill -s HUP $MAINPID
TimeoutSec=0
RestartSec=2
Restart=always
StartLimitBurst=3
StartLimitInterval=60s
LimitNOFILE=infinity
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
Delegate=yes
KillMode=process

[Install]
WantedBy=multi-user.target
`,
  }),
};

/** Every runtime, by kind. */
export const RUNTIMES: Readonly<Record<RuntimeKind, RuntimeSpec>> = { containerd, docker };
