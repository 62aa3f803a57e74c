#!/usr/bin/env bash
# Builds the image tests' images offline with podman, in a store of their own below DIR, and saves them.
#
# Usage: make-images.sh DIR
#   DIR/env           the podman environment (source it to run podman against this store)
#   DIR/base.tar      localhost/bb: a busybox-static root with its applet links (podman import)
#   DIR/app-docker.tar, DIR/app-oci.tar, DIR/app-oci-dir/
#                     localhost/app built from the Containerfile below, saved as docker-archive, oci-archive
#                     and oci-dir: files added, changed and deleted, a directory replaced (opaque), a hard
#                     link, a symlink, a fifo, a setuid file, a 64 MiB sparse file, an ENV step (no layer),
#                     a file with a binary security.capability (cap_setuid, a 0x80 byte) and a user xattr;
#                     names are bytes: a name that is not UTF-8 (latin\351), a UTF-8 one (café), one over 100
#                     bytes, symlinks to "odd//target/./" and to a target that is not UTF-8
#   DIR/steps         the image ID after each step of the build, one a line (for intermediate comparisons)
set -euo pipefail
dir=$(cd "$1" && pwd)
mkdir -p "$dir/home/.config/containers" "$dir/tmp" "$dir/xdg-run" "$dir/ctx" "$dir/rootfs"
echo '{"default":[{"type":"insecureAcceptAnything"}]}' > "$dir/home/.config/containers/policy.json"
echo 'unqualified-search-registries = []' > "$dir/registries.conf"
cat > "$dir/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
netns = "none"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$dir/events.log"
tmp_dir = "$dir/libpod-tmp"
lock_type = "file"
[network]
network_config_dir = "$dir/net"
CONF
cat > "$dir/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$dir/root"
runroot = "$dir/run"
CONF
cat > "$dir/env" <<ENV
export CONTAINERS_STORAGE_CONF=$dir/storage.conf CONTAINERS_CONF=$dir/containers.conf
export CONTAINERS_REGISTRIES_CONF=$dir/registries.conf HOME=$dir/home TMPDIR=$dir/tmp
export XDG_CONFIG_HOME=$dir/home/.config XDG_RUNTIME_DIR=$dir/xdg-run BUILDAH_ISOLATION=chroot
ENV
. "$dir/env"

cd "$dir/rootfs"
mkdir -p bin etc root tmp proc sys dev
cp /bin/busybox bin/busybox
for a in $(bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > etc/passwd
echo 'root:x:0:' > etc/group
chmod 1777 tmp
tar -C . -cf "$dir/base.tar" .
podman --log-level=error import "$dir/base.tar" localhost/bb >/dev/null

echo cap > "$dir/ctx/capbin"
setfattr -n security.capability -v 0x0100000280000000000000000000000000000000 "$dir/ctx/capbin"
setfattr -n user.note -v hello "$dir/ctx/capbin"
cat > "$dir/ctx/Containerfile" <<'CF'
FROM localhost/bb
RUN mkdir -p /data/keep /opq/sub && echo one > /data/a && echo gone > /data/b && echo old > /opq/old \
    && echo old > /opq/sub/old && echo kept > /data/keep/k
ENV LAYERFS_TEST=1
RUN echo changed > /data/a && rm /data/b && rm -rf /opq && mkdir /opq && echo new > /opq/new \
    && ln /data/a /data/a-hard && ln -s ../data/a /data/a-sym && mkfifo /data/fifo \
    && echo suid > /data/suid && chmod 4755 /data/suid && chown 1000:1000 /data/keep/k \
    && echo latin > "/data/$(printf 'latin\351')" && echo utf > /data/café \
    && echo long > /data/a-file-name-longer-than-the-hundred-bytes-that-a-plain-tar-header-holds-so-it-must-travel-in-a-pax-record \
    && ln -s 'odd//target/./' /data/odd-sym && ln -s "$(printf 'x\377')" /data/odd-sym2
RUN dd if=/dev/zero of=/data/sparse bs=1 count=0 seek=64M 2>/dev/null && echo tail >> /data/sparse \
    && touch -d @1000000000 /data/keep
COPY capbin /data/capbin
CF
podman --log-level=error build --layers -q -t localhost/app -f "$dir/ctx/Containerfile" "$dir/ctx" > "$dir/build.out"
podman --log-level=error save -q --format docker-archive -o "$dir/app-docker.tar" localhost/app
podman --log-level=error save -q --format oci-archive -o "$dir/app-oci.tar" localhost/app
podman --log-level=error save -q --format oci-dir -o "$dir/app-oci-dir" localhost/app
