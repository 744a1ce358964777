// systemd socket activation (sd_listen_fds(3)): a service started by its .socket unit finds the listening socket
// as fd 3, with LISTEN_PID naming this process and LISTEN_FDS the count. Used by the docker and cri-dockerd
// stand-ins, whose real units are socket-activated (`-H fd://`, `--container-runtime-endpoint fd://`).

/** The first socket systemd passed to this process; exits with an error when there is none, as dockerd does. */
export function systemdSocket(): number {
  const pid = Number(process.env.LISTEN_PID);
  const fds = Number(process.env.LISTEN_FDS);
  if (pid !== process.pid || !(fds >= 1)) {
    process.stderr.write(
      `no sockets found via socket activation: make sure the service was started by systemd (LISTEN_PID=${process.env.LISTEN_PID ?? ""}, LISTEN_FDS=${process.env.LISTEN_FDS ?? ""})\n`,
    );
    process.exit(1);
  }
  // Not for our children (the containers): the variables are this process's only.
  delete process.env.LISTEN_PID;
  delete process.env.LISTEN_FDS;
  delete process.env.LISTEN_FDNAMES;
  return 3;
}
