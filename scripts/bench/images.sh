#!/usr/bin/env bash
# The image rows of make bench: layerfs image import against umoci unpack and podman load of the same image,
# a re-import with every layer present, image mount of a 60-layer image against mounting its layer
# directories by hand (in a process of its own, and through a layerfs serve daemon), and blame and waste over the
# many-file image. Everything under one temporary directory (BENCH_DIR, default /var/tmp), with podman's store and
# configuration of its own; the median of ROUNDS runs; a Markdown table on stdout and in
# results/images.md. QUICK=1: 2,000 files instead of 10,000, one round.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
L="$root/bin/layerfs"
files=10000 rounds=3
case "${QUICK:-}" in ''|0) ;; *) files=2000 rounds=1 ;; esac
for tool in podman umoci runc; do
  command -v "$tool" >/dev/null || { echo "images bench: $tool is missing (scripts/install-deps.sh containers)" >&2; exit 1; }
done

dir=$(mktemp -d "${BENCH_DIR:-/var/tmp}/layerfs-bench-images.XXXXXX")
SERVE_PID=
cleanup() {
  if [ -n "$SERVE_PID" ] && kill -0 "$SERVE_PID" 2>/dev/null; then kill "$SERVE_PID"; wait "$SERVE_PID" || true; fi
  for m in $(awk -v d="$dir" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r); do umount "$m" 2>/dev/null || umount -l "$m"; done
  [ -f "$dir/env" ] && (. "$dir/env"; podman --log-level=error system reset --force >/dev/null 2>&1 || true)
  for m in $(awk -v d="$dir" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r); do umount -l "$m"; done
  rm -rf --one-file-system "$dir"
}
trap cleanup EXIT
# podman's configuration and the busybox base image, as the image tests make them (their images are not used)
bash "$root/native-tests/src/test/resources/image/make-images.sh" "$dir" >/dev/null
. "$dir/env"
P() { podman --log-level=error "$@"; }

# A 5-layer image of $files small files (2 KiB each) in nested directories, and a 60-layer image.
mkdir -p "$dir/big" "$dir/many"
per=$((files / 5))
for l in 1 2 3 4 5; do
  for ((i = 0; i < per; i++)); do
    d="$dir/big/l$l/d$((i % 50))"; mkdir -p "$d"; head -c 2048 /dev/urandom > "$d/f$i"
  done
done
{ echo "FROM localhost/bb"; for l in 1 2 3 4 5; do echo "COPY l$l /data/l$l"; done; } > "$dir/big/Containerfile"
P build -q --layers -t localhost/big "$dir/big" >/dev/null
for i in $(seq 1 59); do echo "$i" > "$dir/many/f$i"; done
{ echo "FROM localhost/bb"; for i in $(seq 1 59); do echo "COPY f$i /many/f$i"; done; } > "$dir/many/Containerfile"
P build -q --layers -t localhost/many "$dir/many" >/dev/null
P save -q --format docker-archive -o "$dir/big.tar" localhost/big
P save -q --format oci-dir -o "$dir/big-oci" localhost/big
P save -q --format docker-archive -o "$dir/many.tar" localhost/many

# For a command run after a setup command (setup not timed): "WALL CPU", the medians over the rounds of its
# seconds and of the CPU seconds (user + system) it and its children used. On a shared machine the CPU time is
# the figure to compare; the wall time moves with the load.
median() { sort -n | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'; }
measure() {
  local setup=$1 cmd=$2 walls=() cpus=() t
  for ((r = 0; r < rounds; r++)); do
    eval "$setup"
    sync; echo 3 > /proc/sys/vm/drop_caches
    t=$( { TIMEFORMAT='%R %U %S'; time eval "$cmd" >/dev/null 2>&1; } 2>&1 )
    walls+=("$(echo "$t" | awk '{print $1}')"); cpus+=("$(echo "$t" | awk '{print $2 + $3}')")
  done
  echo "$(printf '%s\n' "${walls[@]}" | median) $(printf '%s\n' "${cpus[@]}" | median)"
}
# measure for a mount command: the CPU time also counts the process that serves the mount, which the command
# leaves running: the mount's own JVM (its CPU time once the command has returned, from /proc/PID/stat) or, with
# SERVE_PID set, what the `layerfs serve` daemon spent during the command.
tick=$(getconf CLK_TCK)
cpu_of() { local st; read -r -a st <"/proc/$1/stat"; echo $(( st[13] + st[14] )); }
measure_mount() {
  local setup=$1 cmd=$2 walls=() cpus=() t pid before after
  for ((r = 0; r < rounds; r++)); do
    eval "$setup"
    sync; echo 3 > /proc/sys/vm/drop_caches
    before=0; [ -n "${SERVE_PID:-}" ] && before=$(cpu_of "$SERVE_PID")
    t=$( { TIMEFORMAT='%R %U %S'; time eval "$cmd" >/dev/null 2>&1; } 2>&1 )
    if [ -n "${SERVE_PID:-}" ]; then
      after=$(cpu_of "$SERVE_PID")
    else
      pid=$(pgrep -f -n -- "-jar .*layerfs\.jar .* $dir/mnt\$") || { echo "images bench: no daemon for $dir/mnt" >&2; exit 1; }
      before=0; after=$(cpu_of "$pid")
    fi
    walls+=("$(echo "$t" | awk '{print $1}')")
    cpus+=("$(echo "$t" | awk -v d=$((after - before)) -v tick="$tick" '{print $2 + $3 + d / tick}')")
  done
  echo "$(printf '%s\n' "${walls[@]}" | median) $(printf '%s\n' "${cpus[@]}" | median)"
}
wall() { echo "${1% *}"; }
cpu() { echo "${1#* }"; }
S="$dir/store"
fresh_store='rm -rf "$S"'
import_docker=$(measure "$fresh_store" '$L image --store "$S" import "$dir/big.tar"')
import_oci=$(measure "$fresh_store" '$L image --store "$S" import "$dir/big-oci"')
reimport=$(measure 'true' '$L image --store "$S" import "$dir/big-oci"')
umoci_unpack=$(measure 'rm -rf "$dir/bundle"' 'umoci --log=error unpack --image "$dir/big-oci:localhost/big:latest" "$dir/bundle"')
podman_load=$(measure 'P rmi -f localhost/big >/dev/null 2>&1 || true; P image prune -f >/dev/null 2>&1 || true' 'P load -q -i "$dir/big.tar"')

$L image --store "$S" import "$dir/big-oci" >/dev/null
blame=$(measure 'true' '$L image --store "$S" blame big')
waste=$(measure 'true' '$L image --store "$S" waste big')
$L image --store "$S" import "$dir/many.tar" >/dev/null
mkdir -p "$dir/mnt"
# the layer directories, topmost first, as image mount passes them
lower=$(for h in $(P inspect --format '{{range .RootFS.Layers}}{{.}} {{end}}' localhost/many | tr ' ' '\n' | tac); do
  printf '%s:' "$S/layers/${h#sha256:}/root"; done)
lower=${lower%:}
layers=$(echo "$lower" | tr ':' '\n' | wc -l)
unmount='umount "$dir/mnt" 2>/dev/null || true; while pgrep -f -- "-jar .*layerfs\.jar .* $dir/mnt\$" >/dev/null; do sleep 0.01; done'
mount_image=$(measure_mount "$unmount" '$L image --store "$S" mount many "$dir/mnt"')
mount_hand=$(measure_mount "$unmount" '$L -o "lowerdir=$lower" "$dir/mnt"')
eval "$unmount"
# the same two through a `layerfs serve` daemon of its own (warmed by a few mounts of each first)
export LAYERFS_RUN_DIR="$dir/run"
mkdir -p "$LAYERFS_RUN_DIR"
"$root/bin/layerfs" serve --run-dir "$LAYERFS_RUN_DIR" >"$dir/serve.log" 2>&1 &
SERVE_PID=$!
while [ ! -S "$LAYERFS_RUN_DIR/control.sock" ] && kill -0 "$SERVE_PID" 2>/dev/null; do sleep 0.05; done
for i in 1 2 3 4 5; do
  $L image --store "$S" mount many "$dir/mnt" >/dev/null && umount "$dir/mnt"
  $L -o "lowerdir=$lower" "$dir/mnt" && umount "$dir/mnt"
done
serve_image=$(measure_mount 'umount "$dir/mnt" 2>/dev/null || true' '$L image --store "$S" mount many "$dir/mnt"')
serve_hand=$(measure_mount 'umount "$dir/mnt" 2>/dev/null || true' '$L -o "lowerdir=$lower" "$dir/mnt"')
umount "$dir/mnt"
kill "$SERVE_PID"; wait "$SERVE_PID" || true
SERVE_PID=
unset LAYERFS_RUN_DIR

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", 100 * a / b}'; }
row() { # what, measure's "WALL CPU", ratio text
  printf '| %s | %s | %s | %s |\n' "$1" "$(wall "$2")" "$(cpu "$2")" "$3"
}
out=$(cat <<MD
### Images ($files files in 5 layers; median of $rounds; page cache dropped before each run)

Seconds of wall time and of CPU time (user + system, the command and its children; for a mount also the process
serving it: the mount's own JVM up to the command's return, or what the layerfs serve daemon spent during the
command); ratios of CPU time, which a loaded machine changes less than wall time.

| what | wall s | CPU s | ratio (CPU) |
| --- | ---: | ---: | --- |
$(row "layerfs image import, docker-archive" "$import_docker" "podman load / this: $(ratio "$(cpu "$podman_load")" "$(cpu "$import_docker")")")
$(row "podman load, the same docker-archive" "$podman_load" "")
$(row "layerfs image import, oci-dir (gzip layers)" "$import_oci" "umoci unpack / this: $(ratio "$(cpu "$umoci_unpack")" "$(cpu "$import_oci")")")
$(row "umoci unpack, the same oci-dir" "$umoci_unpack" "")
$(row "re-import, every layer present" "$reimport" "of the first import: $(pct "$(cpu "$reimport")" "$(cpu "$import_oci")")% (wall: $(pct "$(wall "$reimport")" "$(wall "$import_oci")")%)")
$(row "layerfs image mount, $layers-layer image, to a live mount" "$mount_image" "this / by hand: $(ratio "$(cpu "$mount_image")" "$(cpu "$mount_hand")")")
$(row "layerfs -o lowerdir= (the same $layers layer directories by hand)" "$mount_hand" "")
$(row "layerfs image mount, the same, through layerfs serve" "$serve_image" "this / by hand: $(ratio "$(cpu "$serve_image")" "$(cpu "$serve_hand")")")
$(row "layerfs -o lowerdir=, the same, through layerfs serve" "$serve_hand" "")
$(row "layerfs image blame (every path of the $files-file image)" "$blame" "")
$(row "layerfs image waste (the same image)" "$waste" "")
MD
)
mkdir -p "$root/results"
echo "$out" | tee "$root/results/images.md"
