#!/bin/sh
# Runs as PID 1 of a fresh PID+mount+UTS+IPC namespace (started by systemd-node.ts through
# `unshare --pid --fork --mount --uts --ipc --mount-proc`), prepares the node, then becomes systemd.
#
# usage: systemd-node-init.sh NAME STATE_DIR BOOT_UNIT [--bind SRC DST | --ro-bind SRC DST]...
#
# STATE_DIR must already hold what systemd-node.ts prepared: etc/systemd/system, var/lib/systemd,
# units, empty, hostname, machine-id, journald.conf, console.log. Bind sources may be anywhere on
# the host (they are staged before /run and /tmp are replaced); missing targets are created, which
# leaves an empty mount point on the host when the target is on the shared root file system.
set -eu

name=$1
state=$2
unit=$3
shift 3

# Nothing mounted here may ever propagate back to the host. Up to and including the mount of the
# private /run, mounts use -n: libmount would otherwise mkdir /run/mount (utab) on the host.
mount -n --make-rprivate /

# Own cgroup subtree in every hierarchy, so systemd roots itself at /NAME and two nodes never
# share /system.slice/X.service (that gives status=219/CGROUP). "0" means "the writing process".
for h in /sys/fs/cgroup/*; do
  [ -f "$h/cgroup.procs" ] || continue
  mkdir -p "$h/$name"
  if [ -f "$h/cpuset.cpus" ]; then
    # cgroup v1 cpuset: a child with empty cpus/mems refuses tasks (ENOSPC).
    cat "$h/cpuset.cpus" > "$h/$name/cpuset.cpus"
    cat "$h/cpuset.mems" > "$h/$name/cpuset.mems"
  fi
  echo 0 > "$h/$name/cgroup.procs"
done

# Stage the state dir and every bind source on a private tmpfs first: the fresh /run and /tmp
# mounted below would otherwise hide sources under them (a stateDir in /tmp is the usual case).
mount -n -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
stage=/dev/shm/.kubecycle-lab
mkdir -p "$stage/state"
mount -n --bind "$state" "$stage/state"
if [ $(($# % 3)) -ne 0 ]; then echo "systemd-node-init: binds come in triples" >&2; exit 2; fi
nbinds=$(($# / 3))
n=0
while [ "$n" -lt "$nbinds" ]; do
  n=$((n + 1))
  kind=$1 src=$2 dst=$3
  shift 3
  case $kind in
    --bind | --ro-bind) ;;
    *) echo "systemd-node-init: unknown argument $kind" >&2; exit 2 ;;
  esac
  if [ -d "$src" ]; then mkdir "$stage/$n"; else : > "$stage/$n"; fi
  mount -n --bind "$src" "$stage/$n"
  set -- "$@" "$kind" "$stage/$n" "$dst"
done
state=$stage/state

# A private copy of /sys/fs/cgroup (bind mounts of the host's hierarchies on a fresh tmpfs):
# systemd remounts that tmpfs read-only (with size=4M) and mkdirs/mounts the controllers the host
# has not mounted (hugetlb, perf_event, net_cls...). On the host's own tmpfs that would be global.
mkdir "$stage/cgroup"
mount -n -t tmpfs -o mode=0755,nosuid,nodev,noexec tmpfs "$stage/cgroup"
for h in /sys/fs/cgroup/*; do
  if [ -L "$h" ]; then
    cp -P "$h" "$stage/cgroup/"
  elif [ -d "$h" ] && mountpoint -q "$h"; then
    mkdir "$stage/cgroup/${h##*/}"
    mount -n --bind "$h" "$stage/cgroup/${h##*/}"
  fi
done
mount -n --move "$stage/cgroup" /sys/fs/cgroup
rmdir "$stage/cgroup"

# Fresh volatile file systems; the host's /run (its systemd, dbus, netns) must stay invisible.
mount -n -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
# PrivateTmp= units create their directories in /var/tmp too; on the shared root a killed node
# would leave them behind.
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /var/tmp
# The host has /var/log/journal, so journald would otherwise write (and journalctl read) host journals.
if [ -d /var/log/journal ]; then
  mount -t tmpfs -o mode=2755,nosuid,nodev tmpfs /var/log/journal
fi

# Make systemd see only the lab's units: per-node /etc/systemd/system, lab units instead of the
# distribution's (merged-usr: /lib/systemd/system is /usr/lib/systemd/system), no generators.
mount --bind "$state/etc/systemd/system" /etc/systemd/system
# Timer stamps and the like persist per node, as on a real machine.
mount --bind "$state/var/lib/systemd" /var/lib/systemd
mount --bind -o ro "$state/units" /usr/lib/systemd/system
for d in /usr/lib/systemd/system-generators /usr/local/lib/systemd/system \
  /usr/local/lib/systemd/system-generators /etc/systemd/system-generators \
  /usr/lib/systemd/system-environment-generators /etc/systemd/system.control \
  /etc/systemd/system.attached; do
  if [ -d "$d" ]; then mount --bind -o ro "$state/empty" "$d"; fi
done
# Per-node identity and journald settings (volatile, no kmsg, no wall). Files must exist on the
# host to be bind targets; if /etc/machine-id were missing, systemd would create it on the host.
mount --bind "$state/hostname" /etc/hostname
mount --bind "$state/machine-id" /etc/machine-id
mount --bind -o ro "$state/journald.conf" /etc/systemd/journald.conf
# systemd writes status to /dev/console: keep it off the host's serial console.
mount --bind "$state/console.log" /dev/console

# Caller's binds, now from their staged sources.
while [ $# -gt 0 ]; do
  src=$2 dst=$3
  if [ ! -e "$dst" ]; then
    if [ -d "$src" ]; then mkdir -p "$dst"; else mkdir -p "$(dirname "$dst")" && : > "$dst"; fi
  fi
  mount --bind "$src" "$dst"
  if [ "$1" = --ro-bind ]; then mount -o remount,bind,ro "$dst"; fi
  shift 3
done
# Never rm -r here: a staged entry still mounted would be the caller's data.
for m in "$stage"/*; do
  umount "$m"
  if [ -d "$m" ]; then rmdir "$m"; else rm -f "$m"; fi
done
rmdir "$stage"

# Like systemd-nspawn: sysctls are host-global, the node must not change them.
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys

# The host name systemd-node.ts wrote (the node's name unless it was given another).
hostname -F /etc/hostname

exec env -i container=kubecycle-lab PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  /lib/systemd/systemd --system --unit="$unit" --show-status=no
