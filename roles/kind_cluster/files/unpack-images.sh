#!/bin/sh
# Unpacks, once each, the images a node carries but has not unpacked (kind imports them with --no-unpack).
# Otherwise every container created from such an image unpacks it again at the same time: the six Argo CD
# pods that share one image took 84 s here instead of about 6. Prints each image it unpacked.
set -eu
ctr --namespace=k8s.io images check 2>/dev/null | awk 'NR > 1 && $NF == "false" { print $1 }' | grep -v '^import-' |
while read -r ref; do
  target=$(mktemp -d)
  ctr --namespace=k8s.io images mount "$ref" "$target" > /dev/null
  ctr --namespace=k8s.io images unmount --rm "$target" > /dev/null
  rmdir "$target"
  echo "$ref"
done
