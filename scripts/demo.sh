#!/usr/bin/env bash
# make demo: three image-like layers, mounted with layerfs, written through, then torn down.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "make demo mounts a FUSE filesystem with allow_other and writes whiteouts (character devices):" \
       "run it as root (sudo make demo)" >&2
  exit 1
fi
root=$(cd "$(dirname "$0")/.." && pwd)
layerfs="$root/bin/layerfs"
demo=$(mktemp -d /tmp/layerfs-demo.XXXXXX)
mnt="$demo/merged"

cleanup() {
  if grep -q " $mnt fuse" /proc/mounts 2>/dev/null; then umount "$mnt" 2>/dev/null || umount -l "$mnt"; fi
  rm -rf "$demo"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { (cd "$1" && find . -mindepth 1 | sort | while read -r p; do
  if [ -c "$p" ]; then printf '  %-28s whiteout (char %s)\n' "$p" "$(stat -c '%t/%T' "$p")"
  elif [ -d "$p" ]; then printf '  %-28s dir\n' "$p/"
  elif [ -L "$p" ]; then printf '  %-28s -> %s\n' "$p" "$(readlink "$p")"
  else printf '  %-28s %s\n' "$p" "$(head -c 40 "$p" | tr '\n' ' ')"; fi
done); }

step "Three layers, as a container image stores them"
mkdir -p "$demo"/{base,app,cleanup,upper,work,merged}
mkdir -p "$demo/base/etc" "$demo/base/bin" "$demo/base/var/log"
echo "layerfs-demo" > "$demo/base/etc/hostname"
echo "Welcome to the base image" > "$demo/base/etc/motd"
printf '#!/bin/sh\necho hello from the base layer\n' > "$demo/base/bin/hello"
chmod 755 "$demo/base/bin/hello"
ln -s hello "$demo/base/bin/hi"
mkdir -p "$demo/app/srv"
echo '{"port": 8080}' > "$demo/app/srv/config.json"
mkdir -p "$demo/cleanup/etc"
mknod "$demo/cleanup/etc/motd" c 0 0          # the third layer deletes /etc/motd
echo "base layer:";    show "$demo/base"
echo "app layer (adds a file):"; show "$demo/app"
echo "cleanup layer (deletes /etc/motd with a whiteout):"; show "$demo/cleanup"
before=$(cd "$demo" && find base app cleanup -printf '%p %M %s %T@\n' | sort | sha256sum)

step "Mount: layerfs -o lowerdir=cleanup:app:base,upperdir=upper,workdir=work merged"
start=$(date +%s%N)
"$layerfs" -o "lowerdir=$demo/cleanup:$demo/app:$demo/base,upperdir=$demo/upper,workdir=$demo/work" "$mnt"
echo "  mounted in $(( ($(date +%s%N) - start) / 1000000 )) ms: $(grep " $mnt " /proc/mounts | cut -d' ' -f1-3)"

step "The merged view (etc/motd is gone, srv/config.json is there)"
show "$mnt"
echo "  \$ $mnt/bin/hi"; "$mnt/bin/hi" | sed 's/^/  /'

step "Write through it: change a base file, delete an app file, add a directory"
echo "demo-host" > "$mnt/etc/hostname"
rm "$mnt/srv/config.json"
mkdir "$mnt/data" && echo "written through layerfs" > "$mnt/data/notes.txt"
show "$mnt"

step "What landed in the upper layer: a copy-up, a whiteout, the new files"
show "$demo/upper"

step "Unmount and discard the writable layer"
umount "$mnt"
for _ in $(seq 50); do pgrep -f -- "layerfs.jar.* $mnt" >/dev/null || break; sleep 0.1; done
rm -rf "$demo/upper" "$demo/work"
after=$(cd "$demo" && find base app cleanup -printf '%p %M %s %T@\n' | sort | sha256sum)
if [ "$before" = "$after" ]; then echo "  lower layers unchanged: nothing was ever written into them"; else
  echo "  ERROR: a lower layer changed" >&2; exit 1; fi
echo "  base still has etc/hostname = $(cat "$demo/base/etc/hostname")"
