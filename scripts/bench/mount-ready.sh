#!/usr/bin/env bash
# Time to a live mount: `layerfs` mounting a small two-layer stack (root), N times.
#
#   scripts/bench/mount-ready.sh [-n N] [-o OPTS] [LAUNCHER...]
#
# For each run: the wall time of the command (it returns once the mount answers a stat) and the CPU time
# (user+system, all threads) the daemon has used by then, read from /proc/PID/stat as soon as the command
# returns; then the mount is unmounted and the daemon waited for. With several launchers (say a copy of an older
# build and bin/layerfs) the runs are interleaved, one of each in turn, so that the load of a shared machine falls
# on all alike. Prints each run, then per launcher the median and min..max of both, and the load average.
# Default launcher: this tree's bin/layerfs; default N: 10. -o adds mount options (say transport=libfuse2).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

n=10
extra=
while getopts n:o: opt; do
  case "$opt" in
    n) n=$OPTARG ;;
    o) extra=",$OPTARG" ;;
    *) echo "usage: $0 [-n N] [-o OPTS] [LAUNCHER...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
launchers=("$@")
[ ${#launchers[@]} -gt 0 ] || launchers=("$root/bin/layerfs")

if [ "$(id -u)" != 0 ]; then
  echo "mount-ready: run as root (the mount is made with mount(2))" >&2
  exit 1
fi

base=$(mktemp -d "${BENCH_DIR:-/var/tmp}/layerfs-ready.XXXXXX")
mnt=
pid=
cleanup() {
  if [ -n "$mnt" ] && mountpoint -q "$mnt"; then umount "$mnt" 2>/dev/null || umount -l "$mnt"; fi
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
  rm -rf "$base"
}
trap cleanup EXIT

# The stack: two lower layers with a few files and directories each, overlapping in one directory.
mkdir -p "$base/l1/etc" "$base/l1/shared" "$base/l2/usr/bin" "$base/l2/shared"
for i in 1 2 3 4 5; do
  echo "l1 $i" >"$base/l1/etc/f$i"
  echo "l2 $i" >"$base/l2/usr/bin/g$i"
  echo "top $i" >"$base/l1/shared/s$i"
  echo "bottom $i" >"$base/l2/shared/s$i"
done

tick=$(getconf CLK_TCK)
declare -A walls cpus
for ((r = 1; r <= n; r++)); do
  for i in "${!launchers[@]}"; do
    l=${launchers[$i]}
    d="$base/r$r-$i"
    mkdir -p "$d/upper" "$d/work" "$d/mnt"
    mnt="$d/mnt"
    t0=$(date +%s%N)
    "$l" -o "lowerdir=$base/l1:$base/l2,upperdir=$d/upper,workdir=$d/work$extra" "$mnt" 2>"$d/err" \
      || { echo "mount-ready: $l failed: $(cat "$d/err")" >&2; exit 1; }
    t1=$(date +%s%N)
    pid=$(pgrep -f -n -- "-jar .*layerfs\.jar .* $mnt\$" || true)
    if [ -z "$pid" ]; then
      echo "mount-ready: no daemon found for $mnt" >&2
      exit 1
    fi
    read -r -a st <"/proc/$pid/stat"
    # Fields 14 and 15 (utime, stime) counted from 1; the command name (field 2) has no spaces here.
    cpu=$(( (st[13] + st[14]) * 1000 / tick ))
    wall=$(( (t1 - t0) / 1000000 ))
    ls "$mnt/shared" >/dev/null
    umount "$mnt"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
    pid=
    mnt=
    walls[$i]+="$wall "
    cpus[$i]+="$cpu "
    printf 'run %2d  %-45s  wall %5d ms  daemon CPU at ready %5d ms\n' "$r" "$l" "$wall" "$cpu"
  done
done

stats() { # median min max of the numbers given
  sort -n | awk '{v[NR] = $1} END {m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%d (%d..%d)", m, v[1], v[NR]}'
}
echo
for i in "${!launchers[@]}"; do
  printf '%-45s  wall median %s ms  CPU at ready median %s ms  (%d runs)\n' "${launchers[$i]}" \
    "$(tr ' ' '\n' <<<"${walls[$i]}" | grep . | stats)" "$(tr ' ' '\n' <<<"${cpus[$i]}" | grep . | stats)" "$n"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
