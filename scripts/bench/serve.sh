#!/usr/bin/env bash
# The resident daemon (`layerfs serve`) against a process per mount and fuse-overlayfs, as root.
#
#   scripts/bench/serve.sh [-n N] [-m MOUNTS] [-l LOOPS] [-p RUNS] [ready] [rss] [leak] [podman] [rootless]
#
#   ready   time to a live mount (the command returns once the mount answers), N runs of each, interleaved:
#           through the daemon (warmed by 20 mounts first), a JVM of its own (LAYERFS_DAEMON=off),
#           fuse-overlayfs; medians and min..max, and the daemon's CPU time per mount
#   rss     MOUNTS idle mounts of one 5-layer stack: the daemon's VmRSS, against the sum of VmRSS of MOUNTS
#           fuse-overlayfs processes
#   leak    LOOPS mounts and unmounts through the daemon, one after another: its descriptors, threads, heap
#           after a full GC (jcmd) and RSS before and after
#   podman  RUNS `podman run --rm IMG true` in a row, rootful, with layerfs through the daemon, layerfs with a
#           process per mount, and fuse-overlayfs as mount_program; each store fresh, the image a busybox
#           imported offline; per store the total and the median of one run, and the daemon's runs against
#           fuse-overlayfs's round by round (median and mean difference). layerfs's mount_program is the mount
#           client (daemon/target/layerfs-client), the `layerfs` that `make install` installs
#   rootless  the same, rootless: a temporary user with subuid/subgid ranges (deleted after), /dev/fuse 0666
#           meanwhile; layerfs through a daemon that LAYERFS_AUTOSTART=1 starts in podman's namespace, layerfs with
#           a JVM per mount, fuse-overlayfs; then the VmRSS of what stays resident: the daemon after the runs, and
#           the mount process of one running container for the other two
# Default: ready rss leak podman, N=20, MOUNTS=100, LOOPS=1000, RUNS=20. Wall times on a shared machine are noise: the runs
# are interleaved so that load falls on each alike; the load average is printed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
L="$root/bin/layerfs"
client="$root/daemon/target/layerfs-client"

n=20 mounts=100 loops=1000 runs=20
while getopts n:m:l:p: opt; do
  case "$opt" in
    n) n=$OPTARG ;; m) mounts=$OPTARG ;; l) loops=$OPTARG ;; p) runs=$OPTARG ;;
    *) echo "usage: $0 [-n N] [-m MOUNTS] [-l LOOPS] [-p RUNS] [ready] [rss] [leak] [podman] [rootless]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(ready rss leak podman)
if [ "$(id -u)" != 0 ]; then
  echo "serve.sh: run as root" >&2
  exit 1
fi

base=$(mktemp -d "${BENCH_DIR:-/var/tmp}/layerfs-serve.XXXXXX")
run_dir=$(mktemp -d /tmp/lfs-bench-run.XXXXXX)
# The rootful stores' run roots: podman refuses a --runroot longer than 50 characters, and the exit command
# (`podman container cleanup`) that conmon runs when a container ends gets the run root on its command line; where
# that command fails, nothing marks the container exited and `podman run` waits out its 20 s conmon timeout (as it
# did for every run of a store at $base/podman/fuse-overlayfs/run, 51 characters with BENCH_DIR=/tmp).
podman_run=$(mktemp -d /tmp/lfs-podman.XXXXXX)
serve_pid=
rl_user= fuse_mode= rl_dir=
cleanup() {
  set +e
  if [ -n "$rl_user" ]; then
    rootless_teardown
  fi
  for m in $(awk -v b="$base" '$2 ~ "^"b {print $2}' /proc/mounts | sort -r); do umount -l "$m"; done
  if [ -n "$serve_pid" ] && kill -0 "$serve_pid" 2>/dev/null; then kill "$serve_pid"; wait "$serve_pid"; fi
  if [ -d "$base/podman" ]; then
    for s in daemon process fuse-overlayfs; do
      [ -f "$base/podman/$s.conf" ] && CONTAINERS_STORAGE_CONF=$base/podman/$s.conf CONTAINERS_CONF=$base/podman/containers.conf \
        podman --log-level=error system reset --force >/dev/null 2>&1
    done
  fi
  rm -rf "$base" "$run_dir" "$podman_run"
}
trap cleanup EXIT

start_daemon() {
  : >"$base/serve.log"
  LAYERFS_RUN_DIR=$run_dir "$L" serve --run-dir "$run_dir" >"$base/serve.log" 2>&1 &
  serve_pid=$!
  until grep -q "serving mounts" "$base/serve.log"; do
    kill -0 "$serve_pid" 2>/dev/null || { cat "$base/serve.log" >&2; exit 1; }
    sleep 0.05
  done
}

# A 5-layer stack: a few hundred files, overlapping directories, as a small image would have.
mkdir -p "$base/stack"
lowers=
for i in 1 2 3 4 5; do
  d="$base/stack/l$i"
  mkdir -p "$d/etc" "$d/usr/bin" "$d/usr/lib/l$i" "$d/shared"
  for f in $(seq 1 60); do
    echo "layer $i file $f" >"$d/usr/lib/l$i/f$f"
  done
  for f in 1 2 3 4 5; do echo "l$i $f" >"$d/shared/s$f"; echo "l$i" >"$d/etc/conf$i.$f"; done
  lowers="${lowers:+$lowers:}$d"
done

ms() { echo $(( ($2 - $1) / 1000000 )).$(( ($2 - $1) / 100000 % 10 )); }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "median %.1f ms (%.1f..%.1f)", m, a[1], a[NR]}'; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# paired A B: the runs of A and of B were interleaved round by round; the differences A - B of each round, their
# median and mean and the mean's 95% interval (on a shared machine a round's load falls on both alike).
paired() {
  paste "$1" "$2" | awk '{print $1 - $2}' | sort -n | awk '{d[NR]=$1; s+=$1} END {
    n=NR; m=s/n; for (i=1;i<=n;i++) v+=(d[i]-m)^2; se=(n>1)?sqrt(v/(n-1)/n):0
    md=(n%2)?d[(n+1)/2]:(d[n/2]+d[n/2+1])/2
    printf "median %+.1f ms, mean %+.1f ms (95%%: %+.1f..%+.1f) a run", md, m, m-1.96*se, m+1.96*se}'
}

part_ready() {
  echo "== time to a live mount, $n runs each, interleaved (5-layer stack with an upper layer)"
  local kinds=(daemon process fuse-overlayfs)
  for k in "${kinds[@]}"; do : >"$base/ready-$k"; done
  local cpu0 cpu1
  # A resident daemon is warm: 20 mounts first, untimed, so that the figures are not its JIT's first minutes.
  mkdir -p "$base/ready/warm"
  for ((r = 1; r <= 20; r++)); do
    LAYERFS_RUN_DIR=$run_dir "$L" -o "lowerdir=$lowers" "$base/ready/warm" && umount "$base/ready/warm"
  done
  cpu0=$(awk '{print $14 + $15}' "/proc/$serve_pid/stat")
  for ((r = 1; r <= n; r++)); do
    for k in "${kinds[@]}"; do
      d="$base/ready/$k-$r"
      mkdir -p "$d/upper" "$d/work" "$d/mnt"
      opts="lowerdir=$lowers,upperdir=$d/upper,workdir=$d/work"
      t0=$(date +%s%N)
      case "$k" in
        daemon) LAYERFS_RUN_DIR=$run_dir "$L" -o "$opts" "$d/mnt" ;;
        process) LAYERFS_DAEMON=off "$L" -o "$opts" "$d/mnt" ;;
        fuse-overlayfs) fuse-overlayfs -o "$opts" "$d/mnt" && stat "$d/mnt" >/dev/null ;;
      esac
      t1=$(date +%s%N)
      ms "$t0" "$t1" >>"$base/ready-$k"
      umount "$d/mnt"
    done
  done
  cpu1=$(awk '{print $14 + $15}' "/proc/$serve_pid/stat")
  for k in "${kinds[@]}"; do
    printf '  %-16s %s\n' "$k" "$(median <"$base/ready-$k")"
  done
  echo "  the daemon's CPU time: $(( (cpu1 - cpu0) * 1000 / $(getconf CLK_TCK) / n )) ms a mount and its unmount"
}

part_rss() {
  echo "== $mounts idle mounts of the same 5-layer stack (read-only: lowers only)"
  local before after sum=0 pids=()
  before=$(rss_kib "$serve_pid")
  for ((i = 1; i <= mounts; i++)); do
    mkdir -p "$base/rss/d$i"
    LAYERFS_RUN_DIR=$run_dir "$L" -o "lowerdir=$lowers" "$base/rss/d$i"
    ls -R "$base/rss/d$i" >/dev/null
  done
  after=$(rss_kib "$serve_pid")
  echo "  layerfs serve: VmRSS $((before / 1024)) MiB before, $((after / 1024)) MiB with $mounts mounts" \
    "($(( (after - before) / mounts )) KiB a mount); threads $(awk '/^Threads/ {print $2}' /proc/$serve_pid/status)"
  for ((i = 1; i <= mounts; i++)); do umount "$base/rss/d$i"; done
  for ((i = 1; i <= mounts; i++)); do
    fuse-overlayfs -o "lowerdir=$lowers" "$base/rss/d$i"
    ls -R "$base/rss/d$i" >/dev/null
  done
  for p in $(pgrep -x fuse-overlayfs); do
    if tr '\0' ' ' <"/proc/$p/cmdline" | grep -q "$base/rss/"; then sum=$((sum + $(rss_kib "$p"))); fi
  done
  echo "  fuse-overlayfs: $mounts processes, VmRSS $((sum / 1024)) MiB in all ($((sum / mounts)) KiB each)"
  for ((i = 1; i <= mounts; i++)); do umount "$base/rss/d$i"; done
}

snapshot() {
  local heap
  # The young and tenured generations' "used" after a full GC, in KiB.
  heap=$(jcmd "$serve_pid" GC.run >/dev/null 2>&1; jcmd "$serve_pid" GC.heap_info 2>/dev/null \
    | awk '/generation/ {for (i=1;i<=NF;i++) if ($i=="used") {sub(/K,?/,"",$(i+1)); s+=$(i+1)}} END {print s "K"}')
  echo "fds $(ls /proc/$serve_pid/fd | wc -l), threads $(awk '/^Threads/ {print $2}' /proc/$serve_pid/status)," \
    "heap used ${heap:-?} after a full GC, VmRSS $(( $(rss_kib "$serve_pid") / 1024 )) MiB"
}

part_leak() {
  echo "== $loops mounts and unmounts through the daemon, one after another"
  mkdir -p "$base/leak/mnt"
  LAYERFS_RUN_DIR=$run_dir "$L" -o "lowerdir=$lowers" "$base/leak/mnt" && umount "$base/leak/mnt"
  # Every session ended (the records go once a session's descriptors are closed), earlier parts' too.
  until [ -z "$(ls "$run_dir/mounts")" ]; do sleep 0.05; done
  sleep 0.5
  echo "  after one:   $(snapshot)"
  local t0 t1
  t0=$(date +%s%N)
  for ((i = 1; i <= loops; i++)); do
    LAYERFS_RUN_DIR=$run_dir "$L" -o "lowerdir=$lowers" "$base/leak/mnt"
    cat "$base/leak/mnt/shared/s1" >/dev/null
    umount "$base/leak/mnt"
  done
  t1=$(date +%s%N)
  until [ -z "$(ls "$run_dir/mounts")" ]; do sleep 0.05; done
  sleep 0.5
  echo "  after $loops: $(snapshot); $(ms "$t0" "$t1") ms in all"
}

# The image (a busybox with its applet links, as a tar) and the rootful containers.conf.
part_podman_image() {
  local p="$base/podman"
  mkdir -p "$p/rootfs/bin" "$p/rootfs/etc" "$p/rootfs/root" "$p/rootfs/tmp" "$p/rootfs/proc" "$p/rootfs/sys" "$p/rootfs/dev" "$p/net"
  chmod 1777 "$p/rootfs/tmp"
  cp /bin/busybox "$p/rootfs/bin/"
  for a in $("$p/rootfs/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$p/rootfs/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$p/rootfs/etc/passwd"
  echo 'root:x:0:' >"$p/rootfs/etc/group"
  tar -C "$p/rootfs" -cf "$p/busybox.tar" .
  cat >"$p/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
netns = "none"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$p/events.log"
[network]
network_config_dir = "$p/net"
EOF
}

part_podman() {
  local p="$base/podman"
  [ -f "$p/busybox.tar" ] || part_podman_image
  echo "== $runs podman run --rm IMG true in a row, rootful"
  for s in daemon process fuse-overlayfs; do
    local program=$client
    [ "$s" = fuse-overlayfs ] && program=$(command -v fuse-overlayfs)
    cat >"$p/$s.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$p/$s/root"
runroot = "$podman_run/$s"
[storage.options.overlay]
mount_program = "$program"
EOF
    CONTAINERS_STORAGE_CONF=$p/$s.conf CONTAINERS_CONF=$p/containers.conf podman --log-level=error import -q "$p/busybox.tar" localhost/bench-bb >/dev/null
    : >"$p/times-$s"
  done
  for ((r = 1; r <= runs; r++)); do
    for s in daemon process fuse-overlayfs; do
      local envs=(CONTAINERS_STORAGE_CONF=$p/$s.conf CONTAINERS_CONF=$p/containers.conf LAYERFS_RUN_DIR=$run_dir)
      [ "$s" = process ] && envs+=(LAYERFS_DAEMON=off)
      t0=$(date +%s%N)
      env "${envs[@]}" podman --log-level=error run --rm localhost/bench-bb true
      t1=$(date +%s%N)
      ms "$t0" "$t1" >>"$p/times-$s"
    done
  done
  for s in daemon process fuse-overlayfs; do
    printf '  %-16s %s, %s ms for all %s\n' "$s" "$(median <"$p/times-$s")" \
      "$(awk '{s+=$1} END {printf "%.0f", s}' "$p/times-$s")" "$runs"
  done
  echo "  daemon - fuse-overlayfs, round by round: $(paired "$p/times-daemon" "$p/times-fuse-overlayfs")"
}

# The rootless part's user runs podman with this environment (and nothing else of ours).
as_user() {
  runuser -u "$rl_user" -- env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME="$rl_dir/home" XDG_RUNTIME_DIR="$rl_dir/run" CONTAINERS_CONF="$rl_dir/containers.conf" \
    CONTAINERS_REGISTRIES_CONF=/dev/null "$@"
}

# Containers and store through podman, then the autostarted daemon and podman's pause process by their pid files,
# then the user (with its subordinate ranges) and /dev/fuse's mode.
rootless_teardown() {
  local r=$rl_dir p
  as_user env CONTAINERS_STORAGE_CONF="$r/daemon.conf" podman --log-level=error system reset --force >/dev/null 2>&1
  for f in "$r/run/layerfs/layerfs.pid" "$r/run/libpod/tmp/pause.pid"; do
    p=$(cat "$f" 2>/dev/null) || continue
    kill "$p" 2>/dev/null && while kill -0 "$p" 2>/dev/null; do sleep 0.1; done
  done
  userdel "$rl_user"
  chmod "$fuse_mode" /dev/fuse
  rm -rf "$rl_dir"
  rl_user=
}

part_rootless() {
  local p="$base/podman" r s
  [ -f "$p/busybox.tar" ] || part_podman_image
  # The user's home and runtime directory below /tmp: below /var/tmp each rootless podman run here took 20 s
  # more, whatever the mount program (seen with podman 4.3, cause not found).
  rl_dir=$(mktemp -d /tmp/layerfs-rootless.XXXXXX)
  r=$rl_dir
  rl_user=lfsbench$$
  fuse_mode=$(stat -c %a /dev/fuse)
  useradd --no-create-home --home-dir "$r/home" --shell /bin/sh "$rl_user"
  grep -q "^$rl_user:" /etc/subuid || { echo "serve.sh: useradd gave $rl_user no subuid range" >&2; exit 1; }
  mkdir -p "$r/home/.config/containers" "$r/run"
  echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$r/home/.config/containers/policy.json"
  chown -R "$rl_user:" "$r/home" "$r/run"
  chmod 0700 "$r/run"
  chmod a+rx "$base" "$p" "$r"
  chmod a+r "$p/busybox.tar"
  printf '[containers]\nnetns = "none"\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nevents_logfile_path = "%s"\n' \
    "$r/home/events.log" >"$r/containers.conf"
  chmod a+r "$r/containers.conf"
  chmod 0666 /dev/fuse
  echo "== $runs podman run --rm IMG true in a row, rootless (user $rl_user, /dev/fuse 0666)"
  for s in daemon process fuse-overlayfs; do
    local program=$client
    [ "$s" = fuse-overlayfs ] && program=$(command -v fuse-overlayfs)
    printf '[storage]\ndriver = "overlay"\n[storage.options.overlay]\nmount_program = "%s"\n' "$program" >"$r/$s.conf"
    chmod a+r "$r/$s.conf"
    : >"$r/times-$s"
  done
  as_user env CONTAINERS_STORAGE_CONF="$r/daemon.conf" podman --log-level=error import -q "$p/busybox.tar" localhost/bench-bb >/dev/null
  for s in daemon process fuse-overlayfs; do   # one untimed run each: the daemon starts in the first
    as_user env CONTAINERS_STORAGE_CONF="$r/$s.conf" LAYERFS_AUTOSTART=1 podman --log-level=error run --rm localhost/bench-bb true
  done
  for ((i = 1; i <= runs; i++)); do
    for s in daemon process fuse-overlayfs; do
      local envs=(CONTAINERS_STORAGE_CONF=$r/$s.conf LAYERFS_AUTOSTART=1)
      [ "$s" = process ] && envs+=(LAYERFS_DAEMON=off)
      t0=$(date +%s%N)
      as_user env "${envs[@]}" podman --log-level=error run --rm localhost/bench-bb true
      t1=$(date +%s%N)
      ms "$t0" "$t1" >>"$r/times-$s"
    done
  done
  for s in daemon process fuse-overlayfs; do
    printf '  %-16s %s, %s ms for all %s\n' "$s" "$(median <"$r/times-$s")" \
      "$(awk '{s+=$1} END {printf "%.0f", s}' "$r/times-$s")" "$runs"
  done
  echo "  daemon - fuse-overlayfs, round by round: $(paired "$r/times-daemon" "$r/times-fuse-overlayfs")"
  local daemon_pid
  daemon_pid=$(cat "$r/run/layerfs/layerfs.pid")
  echo "  resident: the daemon (pid $daemon_pid, in podman's namespace) VmRSS $(( $(rss_kib "$daemon_pid") / 1024 )) MiB," \
    "$(grep -c 'HandOver - mounted' "$r/run/layerfs/serve.log") mounts served"
  for s in process fuse-overlayfs; do
    as_user env CONTAINERS_STORAGE_CONF="$r/$s.conf" LAYERFS_DAEMON=off podman --log-level=error run -d --name "rss-$s" localhost/bench-bb sleep 30 >/dev/null
    local pat=layerfs.jar
    [ "$s" = fuse-overlayfs ] && pat=/fuse-overlayfs
    local m
    m=$(pgrep -u "$rl_user" -f "$pat" | head -1)
    echo "  $s: the mount process of one running container VmRSS $(( $(rss_kib "$m") / 1024 )) MiB"
    as_user env CONTAINERS_STORAGE_CONF="$r/$s.conf" podman --log-level=error rm -f -t 0 "rss-$s" >/dev/null
  done
  rootless_teardown
}

start_daemon
echo "layerfs serve pid $serve_pid; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
for part in "${parts[@]}"; do
  "part_$part"
done
echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
kill "$serve_pid"
wait "$serve_pid" && echo "layerfs serve exited 0 at SIGTERM"
serve_pid=
