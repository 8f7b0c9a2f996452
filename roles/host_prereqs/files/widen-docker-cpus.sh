#!/bin/sh
# Lets the Docker daemon and the containerd it started run on the CPUs the machine's first process may use (all
# threads). A daemon confined to fewer CPUs confines every container it starts afterwards: Mitogen's CPU affinity
# policy did so to a Docker daemon that a task started, until fast_linear switched the policy off. A process this
# cannot widen (gone meanwhile, not permitted) is reported on stderr and left as it is. Prints each one it widened.
set -u
cpus() { awk '/^Cpus_allowed_list:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
wanted=$(cpus 1)
[ -n "$wanted" ] || exit 0
for dir in /proc/[0-9]*; do
  pid=${dir#/proc/}
  name=$(cat "$dir/comm" 2>/dev/null) || continue
  case "$name" in
    dockerd) ;;
    containerd) [ "$(cat "/proc/$(awk '/^PPid:/ { print $2 }' "$dir/status" 2>/dev/null)/comm" 2>/dev/null)" = dockerd ] || continue ;;
    *) continue ;;
  esac
  before=$(cpus "$pid")
  [ -n "$before" ] && [ "$before" != "$wanted" ] || continue
  if ! taskset --all-tasks --cpu-list --pid "$wanted" "$pid" > /dev/null 2>&1; then
    echo "$name $pid: CPUs $before, could not widen them to $wanted" >&2
    continue
  fi
  after=$(cpus "$pid")
  [ "$after" != "$before" ] && echo "$name $pid: CPUs $before -> $after"
done
exit 0
