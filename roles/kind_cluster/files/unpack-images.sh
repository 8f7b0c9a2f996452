#!/bin/sh
# Unpacks, once each, the images a node carries but has not unpacked (kind imports them with --no-unpack), into
# the snapshotter the node's CRI uses. Otherwise every container created from such an image unpacks it again at
# the same time: the six Argo CD pods that share one image took 84 s here instead of about 6. Prints each image
# it unpacked; one it cannot unpack is reported on stderr and left to the first pod that needs it.
set -u
# The CRI's snapshotter: containerd 1.x names it under the CRI plugin's containerd table, 2.x under its images.
snapshotter=$(containerd config dump 2>/dev/null | awk '
  /^[[:space:]]*\[/ { line = $0; gsub(/[[:space:]]/, "", line)
                      cri = (line == "[plugins.\"io.containerd.grpc.v1.cri\".containerd]" || line == "[plugins.\"io.containerd.cri.v1.images\"]") }
  cri && $1 == "snapshotter" { gsub(/"/, "", $3); print $3; exit }')
snapshotter=${snapshotter:-overlayfs}
ctr --namespace=k8s.io images check --snapshotter="$snapshotter" 2>/dev/null \
  | awk 'NR > 1 && $NF == "false" { print $1 }' | grep -v -e '^import-' -e '^sha256:' |
while read -r ref; do
  target=$(mktemp -d)
  if ctr --namespace=k8s.io images mount --snapshotter="$snapshotter" "$ref" "$target" > /dev/null 2>&1; then
    ctr --namespace=k8s.io images unmount --rm "$target" > /dev/null 2>&1 || echo "could not unmount $target ($ref)" >&2
    echo "$ref"
  else
    echo "could not unpack $ref into $snapshotter" >&2
  fi
  rmdir "$target" 2>/dev/null
done
exit 0
