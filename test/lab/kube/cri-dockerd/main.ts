// cri-dockerd stand-in (lab fixture, never shipped), run as cri-docker.service, socket-activated by
// cri-docker.socket (/run/cri-dockerd.sock) as upstream's units do. The real cri-dockerd translates the CRI into
// Docker API calls on /var/run/docker.sock; the lab's docker stand-in already speaks the lab's CRI, so this one
// forwards each connection to it unchanged. What matters for kubecycle is real: the kubelet and crictl reach the
// runtime only through this service, and each connection it makes to docker's socket is a client of docker.socket,
// so while that socket listens, a stopped docker.service is started again by the next CRI call.
import { connect, createServer } from "node:net";
import { execFile } from "node:child_process";
import { parseFlags } from "../lib/flags.js";
import { createLog } from "../lib/log.js";
import { socketPath } from "../lib/runtime-client.js";
import { systemdSocket } from "../lib/socket-activation.js";

const log = createLog("cri-dockerd");
const flags = parseFlags(
  process.argv.slice(2),
  ["container-runtime-endpoint", "docker-endpoint", "network-plugin"] as const,
  { "container-runtime-endpoint": "fd://", "docker-endpoint": "unix:///run/docker.sock" },
);
const docker = socketPath(flags["docker-endpoint"] ?? "");

const server = createServer((client) => {
  const upstream = connect(docker);
  // Either side failing ends both: the client then sees its runtime call fail, as with a docker that is down.
  const end = (): void => {
    client.destroy();
    upstream.destroy();
  };
  client.on("error", end);
  upstream.on("error", (err) => {
    log.warn("cannot reach docker", { endpoint: docker, err: err.message });
    end();
  });
  client.pipe(upstream).pipe(client);
});

const endpoint = flags["container-runtime-endpoint"] ?? "fd://";
server.listen(endpoint === "fd://" ? { fd: systemdSocket() } : socketPath(endpoint), () => {
  log.info("serving", { endpoint, docker });
  // Type=notify, like the real unit.
  if (process.env.NOTIFY_SOCKET)
    execFile(
      "systemd-notify",
      ["--ready", `--pid=${process.pid}`],
      (err) => err && log.warn("sd_notify failed", { err: err.message }),
    );
});

const stop = (): void => {
  server.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
