#!/bin/sh
# Lets every dockerd and containerd process (the host's, and those inside kind nodes) run on every online CPU,
# all threads. A daemon confined to fewer CPUs confines every container it starts afterwards: Mitogen's CPU
# affinity policy did so to a Docker daemon that a task started (one CPU of two, until fast_linear switched the
# policy off). Prints each process it widened.
set -eu
online=$(cat /sys/devices/system/cpu/online)
for pid in $(pgrep -x dockerd || true) $(pgrep -x containerd || true); do
  current=$(awk '/^Cpus_allowed_list:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || continue
  [ -n "$current" ] && [ "$current" != "$online" ] || continue
  taskset --all-tasks --cpu-list --pid "$online" "$pid" > /dev/null
  echo "$(cat "/proc/$pid/comm") $pid: CPUs $current -> $online"
done
