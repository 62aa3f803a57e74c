#!/usr/bin/env python3
"""layerfs benchmark: the same workloads on the kernel overlay, fuse-overlayfs and layerfs, interleaved.

Run it through `make bench` (installs fio, builds if needed) or directly, as root:

    python3 scripts/bench/bench.py [--quick] [--rounds N] [--targets kernel,fuse-overlayfs,layerfs,layerfs-libfuse2]
                                   [--only WORKLOAD,...] [--dir /var/tmp] [--results DIR] [--keep]

All data lives in one new directory (default /var/tmp/layerfs-bench.XXXXXX), so every target reads and writes
the same filesystem; it is deleted at the end. Each round mounts every target afresh over the same three lower
layers, each with a new upper and work directory of its own, then runs every workload on target A, B, C in
turn (A B C A B C ...). Cold runs follow `sync; echo 3 > /proc/sys/vm/drop_caches`; a warm run follows its
cold run on the same target at once. Every mount this script makes is unmounted, and every daemon it started
is waited for, on success, failure, Ctrl-C or SIGTERM; it never touches a mount or a process it did not make.

Numbers are only reported, never judged: a slow result does not fail the run. A workload that errors (a
command exits non-zero, a listing has the wrong size, a time-out) is reported as an error, the run goes on,
and the exit status is 1 at the end. Results: a table on stdout, and Markdown, JSON, a log and (with gnuplot)
a PNG of the ratios under results/.
"""
import argparse
import ctypes
import datetime
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import workload  # noqa: E402

# layerfs is its default transport (kernel); layerfs-libfuse2 is the same daemon with -o transport=libfuse2.
TARGETS = ("kernel", "fuse-overlayfs", "layerfs", "layerfs-libfuse2")
FUSE_TARGETS = ("fuse-overlayfs", "layerfs", "layerfs-libfuse2")
IDLE_SECONDS = 5  # how long the daemons sit idle after the tree workloads before their RSS is read
LAYERFS_TRANSPORTS = {"layerfs": "kernel", "layerfs-libfuse2": "libfuse2"}

SIZES = {
    # rounds, MiB of the big file, 4k random reads, files: created tree, chmod (lower), merged dir, tarball
    "full": dict(rounds=5, big_mib=1024, rand_ios=16384, tree_files=20000, meta_files=10000, merged=10000,
                 tar_files=3000, timeout=1800),
    "quick": dict(rounds=3, big_mib=128, rand_ios=2048, tree_files=1500, meta_files=1000, merged=10000,
                  tar_files=500, timeout=300),
}


class Metric:
    def __init__(self, short, mid, label, unit, higher_better, targets=TARGETS, note=""):
        self.short, self.id, self.label, self.unit, self.higher_better = short, mid, label, unit, higher_better
        self.targets, self.note = targets, note


def metrics_for(s):
    big = f"{s['big_mib'] // 1024} GiB" if s["big_mib"] % 1024 == 0 else f"{s['big_mib']} MiB"
    tree = f"{s['tree_files']:,} files"
    return [
        Metric("mount ready", "mount_ready", "mount ready", "ms", False, FUSE_TARGETS,
               "from starting the mount command until the mount answers a stat"),
        Metric("seq write", "seq_write", f"seq write {big} (dd 1M, fsync)", "MiB/s", True),
        Metric("seq read cold", "seq_read_cold", f"seq read {big} lower, cold", "MiB/s", True),
        Metric("seq read warm", "seq_read_warm", f"seq read {big} lower, warm", "MiB/s", True),
        Metric("4k rand read cold", "rand_read_cold", f"4k random read lower, cold ({s['rand_ios']:,} reads)", "IOPS", True),
        Metric("4k rand read warm", "rand_read_warm", "4k random read lower, warm (same reads)", "IOPS", True),
        Metric("create tree", "tree_create", f"create {tree} in a tree", "s", False),
        Metric("find cold", "find_cold", f"find over {tree}, cold", "s", False),
        Metric("find warm", "find_warm", f"find over {tree}, warm", "s", False),
        Metric("ls -lR cold", "ls_lR_cold", f"ls -lR over {tree}, cold", "s", False),
        Metric("ls -lR warm", "ls_lR_warm", f"ls -lR over {tree}, warm", "s", False),
        Metric("rm -rf tree", "rm_tree", f"rm -rf {tree}", "s", False),
        Metric("daemon RSS", "rss_tree", f"daemon VmRSS {IDLE_SECONDS} s after the tree workloads (idle)", "MiB", False,
               FUSE_TARGETS),
        Metric("daemon peak RSS", "hwm_tree", "daemon VmHWM (peak RSS) after the tree workloads", "MiB", False, FUSE_TARGETS),
        Metric("untar", "untar", f"untar {s['tar_files']:,} files (tar x)", "s", False),
        Metric("tar c", "tar_c", "tar c of the untarred tree, warm", "s", False),
        Metric("copy-up append", "copyup_append", f"copy-up: first append to {big} lower file, cold", "s", False),
        Metric("copy-up chmod", "copyup_chmod", f"copy-up: chmod {s['meta_files']:,} lower files, cold", "s", False),
        Metric("mv lower dir", "mv_dir", f"mv of a lower directory of {s['meta_files']:,} files, cold", "s", False,
               note="one rename with redirect_dir=on; without it EXDEV, and mv copies the tree"),
        Metric("readdir merged cold", "readdir_cold", f"readdir {s['merged']:,} entries merged from 3 layers, cold", "ms", False),
        Metric("readdir merged warm", "readdir_warm", f"readdir {s['merged']:,} entries merged from 3 layers, warm", "ms", False),
        Metric("daemon CPU", "daemon_cpu", "daemon CPU time (user+sys) over the whole round", "s", False, FUSE_TARGETS),
    ]


WORKLOADS = ("seq_write", "seq_read", "rand_read", "tree", "untar", "copyup_append", "copyup_chmod", "mv_dir",
             "readdir")


class WorkloadError(Exception):
    pass


class Interrupted(BaseException):
    pass


def on_signal(signum, _frame):
    raise Interrupted(signal.Signals(signum).name)


# --------------------------------------------------------------------------------------------- process utils

def become_subreaper():
    """Daemons that detach from the mount command (layerfs's JVM, fuse-overlayfs) become our children, so that
    we can wait for them properly."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def proc_start_time(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        return int(stat[stat.rindex(")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        return stat[stat.rindex(")") + 2:].split()[0]
    except (OSError, ValueError, IndexError):
        return None


def proc_status(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])  # kB
    except (OSError, ValueError):
        pass
    return None


def proc_cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        fields = stat[stat.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def proc_thread_cpu(pid):
    """CPU seconds of the threads of PID, summed by name without a trailing number ("fuse-0" -> "fuse-*")."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = re.sub(r"[0-9]+$", "*", stat[stat.index("(") + 1:stat.rindex(")")].strip())
        fields = stat[stat.rindex(")") + 2:].split()
        out[name] = out.get(name, 0) + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def find_daemon(mnt):
    """The process serving MNT: the one whose command line ends with our (unique) mount point."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        while argv and argv[-1] == b"":
            argv.pop()
        if argv and os.fsdecode(argv[-1]) == mnt:
            found.append(int(name))
    return found


def mounted_points():
    points = set()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            p = line.split(" ")[4]
            points.add(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), p))
    return points


def tail(text, n=400):
    text = (text or "").strip()
    return text if len(text) <= n else "..." + text[-n:]


# ------------------------------------------------------------------------------------------------- mounts

class Mount:
    def __init__(self, target, rdir):
        self.target = target
        self.dir = os.path.join(rdir, target)
        self.upper = os.path.join(self.dir, "upper")
        self.work = os.path.join(self.dir, "work")
        self.mnt = os.path.join(self.dir, "mnt")
        self.daemon = None        # (pid, start time) of the serving process
        self.dev = None           # st_dev of the mounted root, to find its FUSE connection if it hangs
        self.ok = False


class Bench:
    title = "layerfs benchmark"
    prefix = "bench"    # of the result files' names
    sizes = SIZES

    def __init__(self, args):
        self.args = args
        self.mode = "quick" if args.quick else "full"
        self.s = dict(self.sizes[self.mode])
        if args.rounds:
            self.s["rounds"] = args.rounds
        self.targets = args.targets
        self.metrics = self.make_metrics(self.s)
        self.results = {m.id: {t: [] for t in TARGETS} for m in self.metrics}
        self.errors = []
        self.thread_cpu = {t: [] for t in FUSE_TARGETS}   # per round: CPU seconds by daemon thread name
        self.mounts = []
        self.base = None
        self.subreaper = become_subreaper()
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        self.started = datetime.datetime.now().astimezone()
        os.makedirs(args.results, exist_ok=True)
        self.out = os.path.join(args.results, f"{self.prefix}-{stamp}{'-quick' if args.quick else ''}")
        self.logf = open(self.out + ".log", "w")
        self.t_start = time.monotonic()
        # Where the lower layers' paths are given relative to (see mount), or None for absolute paths.
        self.lowers_cwd = None

    @staticmethod
    def make_metrics(s):
        return metrics_for(s)

    # ---------------------------------------------------------------------------------------------- logging

    def log(self, msg=""):
        print(msg, flush=True)
        self.logf.write(msg + "\n")
        self.logf.flush()

    def clock(self):
        return f"{time.monotonic() - self.t_start:7.1f}s"

    # -------------------------------------------------------------------------------------------- commands

    def run(self, cmd, timeout=None, capture=False):
        """Run CMD; WorkloadError unless it exits 0. Returns its stdout when CAPTURE."""
        try:
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                               stderr=subprocess.PIPE, timeout=timeout or self.s["timeout"])
        except subprocess.TimeoutExpired:
            raise WorkloadError(f"{os.path.basename(cmd[0])}: timed out after {timeout or self.s['timeout']} s")
        if r.returncode != 0:
            raise WorkloadError(f"{' '.join(os.path.basename(c) if i == 0 else c for i, c in enumerate(cmd[:3]))}"
                                f"... exited {r.returncode}: {tail(r.stderr.decode(errors='replace'))}")
        return r.stdout.decode(errors="replace") if capture else None

    def timed(self, cmd):
        t0 = time.perf_counter()
        self.run(cmd)
        return time.perf_counter() - t0

    def worker(self, *args):
        out = self.run([sys.executable, os.path.join(HERE, "workload.py"), *map(str, args)], capture=True)
        return float(out.strip().splitlines()[-1])

    def fio_randread(self, path):
        size = self.s["big_mib"] << 20
        out = self.run(["fio", "--name=randread", f"--filename={path}", "--readonly", "--rw=randread", "--bs=4k",
                        f"--size={size}", f"--io_size={self.s['rand_ios'] * 4096}", "--ioengine=psync",
                        "--randrepeat=1", "--invalidate=0", "--fadvise_hint=0", "--output-format=json"],
                       capture=True)
        try:
            read = json.loads(out[out.index("{"):])["jobs"][0]["read"]
        except (ValueError, KeyError, IndexError) as e:
            raise WorkloadError(f"fio: unreadable output ({e})")
        if read["total_ios"] != self.s["rand_ios"]:
            raise WorkloadError(f"fio: {read['total_ios']} reads done, {self.s['rand_ios']} asked")
        return 1e9 / read["lat_ns"]["mean"]   # reads per second of I/O time, at queue depth 1

    def settle(self, cold, prime=None):
        """sync; for a cold run also drop the page cache, then run PRIME (the timed tool on a harmless argument,
        outside every mount) so that loading the tool's own binary from disk is not part of the measurement."""
        os.sync()
        if cold:
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3\n")
            self.run(prime or [sys.executable, "-c", "import os, time, random"])

    def record(self, mid, target, fn):
        """Run FN, record its value under metric MID, or record the error. Returns the value or None."""
        try:
            v = fn()
        except (WorkloadError, OSError) as e:
            self.errors.append(dict(round=self.round, metric=mid, target=target, error=str(e)))
            self.log(f"{self.clock()} {mid:<15} {target:<15} ERROR {e}")
            return None
        self.results[mid][target].append(v)
        unit = next(m.unit for m in self.metrics if m.id == mid)
        self.log(f"{self.clock()} {mid:<15} {target:<15} {fmt(v)} {unit}")
        return v

    # -------------------------------------------------------------------------------------------- mounting

    def mount(self, target, rdir):
        m = Mount(target, rdir)
        for d in (m.upper, m.work, m.mnt):
            os.makedirs(d)
        self.mounts.append(m)  # before the command: teardown checks /proc/self/mountinfo for what it made
        # Relative to lowers_cwd where it is set, which every mount command then runs in: the kernel takes at most
        # a page of mount options, and a hundred absolute layer paths do not fit in one.
        lowers = self.lowers if self.lowers_cwd is None else [os.path.relpath(d, self.lowers_cwd) for d in self.lowers]
        cwd = self.lowers_cwd
        opts = f"lowerdir={':'.join(lowers)},upperdir={m.upper},workdir={m.work}"
        extra = {"layerfs": self.args.layerfs_opts, "layerfs-libfuse2": self.args.layerfs_opts,
                 "fuse-overlayfs": self.args.fuse_overlayfs_opts, "kernel": self.args.kernel_opts}.get(target)
        if target in LAYERFS_TRANSPORTS:
            opts += ",transport=" + LAYERFS_TRANSPORTS[target]
        if extra:
            opts += "," + extra
        parent_dev = os.stat(m.dir).st_dev
        errlog = os.path.join(m.dir, "mount.err")

        def fail(what):
            try:
                with open(errlog, errors="replace") as f:
                    what += ": " + tail(f.read())
            except OSError:
                pass
            raise WorkloadError(what)

        try:
            ready = self.mount_command(target, m, opts, cwd, errlog, parent_dev, fail)
        except subprocess.TimeoutExpired as e:
            fail(f"{target}: the mount command did not return in {e.timeout:.0f} s")
        if m.mnt not in mounted_points():
            fail(f"{target}: {m.mnt} is not mounted after the mount command")
        m.dev = os.stat(m.mnt).st_dev
        if target in FUSE_TARGETS:
            pids = find_daemon(m.mnt)
            if len(pids) == 1:
                m.daemon = (pids[0], proc_start_time(pids[0]))
            else:
                self.log(f"  warning: {len(pids)} processes serve {m.mnt}; no RSS or CPU figures for {target}")
        m.ok = True
        return None if ready is None else ready * 1000

    def mount_command(self, target, m, opts, cwd, errlog, parent_dev, fail):
        """Runs TARGET's mount command for M; the seconds until the mount was ready (None for the kernel)."""
        with open(errlog, "wb") as err:
            if target == "kernel":
                r = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, m.mnt],
                                   stdin=subprocess.DEVNULL, stdout=err, stderr=err, timeout=60, cwd=cwd)
                if r.returncode != 0:
                    fail(f"mount -t overlay exited {r.returncode}")
                ready = None
            elif target == "fuse-overlayfs":
                t0 = time.perf_counter()
                p = subprocess.Popen(["fuse-overlayfs", "-o", opts, m.mnt],
                                     stdin=subprocess.DEVNULL, stdout=err, stderr=err, cwd=cwd)
                try:
                    while True:
                        try:
                            if os.stat(m.mnt).st_dev != parent_dev:
                                break
                        except OSError:
                            pass
                        if p.poll() not in (None, 0):
                            fail(f"fuse-overlayfs exited {p.returncode}")
                        if time.perf_counter() - t0 > 60:
                            fail("fuse-overlayfs: no mount after 60 s")
                        time.sleep(0.0005)
                    ready = time.perf_counter() - t0
                    p.wait(timeout=60)
                finally:
                    if p.poll() is None:
                        p.kill()
                        p.wait()
            else:
                t0 = time.perf_counter()
                r = subprocess.run([self.layerfs, "-o", opts, m.mnt],
                                   stdin=subprocess.DEVNULL, stdout=err, stderr=err, timeout=120, cwd=cwd)
                ready = time.perf_counter() - t0
                if r.returncode != 0:
                    fail(f"layerfs exited {r.returncode}")
        return ready

    def daemon_alive(self, m):
        pid, start = m.daemon
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                return False
        except ChildProcessError:
            pass  # not our child (no subreaper): watch /proc
        if proc_start_time(pid) != start:
            return False
        return proc_state(pid) not in (None, "Z", "X")

    def wait_daemon(self, m, seconds=30):
        if not m.daemon:
            return
        pid, start = m.daemon
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if sig is not None:
                if not self.daemon_alive(m) or proc_start_time(pid) != start:
                    break
                self.log(f"  {m.target} daemon {pid} still running after unmount: sending {sig.name}")
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    break
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                if not self.daemon_alive(m):
                    m.daemon = None
                    return
                time.sleep(0.02)
            seconds = 10
        m.daemon = None

    def abort_fuse(self, m):
        if m.target in FUSE_TARGETS and m.dev is not None:
            path = f"/sys/fs/fuse/connections/{m.dev}/abort"
            try:
                with open(path, "w") as f:
                    f.write("1\n")
                self.log(f"  aborted the FUSE connection of {m.mnt}")
            except OSError:
                pass

    def unmount(self, m):
        if m.daemon is None and m.target in FUSE_TARGETS:  # a mount that failed half-way may have left one
            pids = find_daemon(m.mnt)
            if len(pids) == 1:
                m.daemon = (pids[0], proc_start_time(pids[0]))
        if m.mnt in mounted_points():
            done = False
            for attempt in range(10):
                try:
                    r = subprocess.run(["umount", m.mnt], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, timeout=60)
                except subprocess.TimeoutExpired:
                    self.abort_fuse(m)
                    continue
                if r.returncode == 0 or m.mnt not in mounted_points():
                    done = True
                    break
                time.sleep(0.5)
            if not done and m.mnt in mounted_points():
                self.log(f"  umount {m.mnt} keeps failing: aborting and detaching it")
                self.abort_fuse(m)
                subprocess.run(["umount", "-l", m.mnt], stdin=subprocess.DEVNULL, timeout=60)
        self.wait_daemon(m)
        if m.mnt not in mounted_points():
            self.mounts.remove(m)

    def teardown(self):
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not leave mounts behind
        for m in reversed(list(self.mounts)):
            try:
                self.unmount(m)
            except Exception as e:  # keep going: every other mount must still be undone
                self.log(f"  teardown of {m.mnt}: {e}")
        # Reap any other process that was reparented to us (a detached helper); all our subprocesses are done.
        if self.subreaper:
            try:
                while os.waitpid(-1, os.WNOHANG)[0]:
                    pass
            except ChildProcessError:
                pass
        if self.base:
            left = [p for p in mounted_points() if p == self.base or p.startswith(self.base + "/")]
            if left:
                self.log(f"NOT deleting {self.base}: still mounted: {', '.join(left)}")
            elif self.args.keep:
                self.log(f"kept {self.base}")
            else:
                shutil.rmtree(self.base, ignore_errors=True)

    # ------------------------------------------------------------------------------------------ preparation

    def prepare(self):
        self.snapshot_layerfs()
        self.prepare_data()

    def snapshot_layerfs(self):
        """The data directory, and a private copy of layerfs in it to run (self.layerfs)."""
        self.base = tempfile.mkdtemp(prefix="layerfs-bench.", dir=self.args.dir)
        self.fs = fs_type(self.base)
        self.log(f"data in {self.base} ({self.fs})")
        # A private copy of the launcher and jars: a rebuild in the work tree cannot change or break a running run.
        snap = os.path.join(self.base, "layerfs")
        os.makedirs(os.path.join(snap, "bin"))
        shutil.copy2(os.path.join(ROOT, "bin", "layerfs"), os.path.join(snap, "bin", "layerfs"))
        tgt = os.path.join(ROOT, "fuse-mount", "target")
        os.makedirs(os.path.join(snap, "fuse-mount", "target"))
        shutil.copy2(os.path.join(tgt, "layerfs.jar"), os.path.join(snap, "fuse-mount", "target"))
        shutil.copytree(os.path.join(tgt, "lib"), os.path.join(snap, "fuse-mount", "target", "lib"))
        if os.path.isdir(os.path.join(tgt, "jffi")):
            shutil.copytree(os.path.join(tgt, "jffi"), os.path.join(snap, "fuse-mount", "target", "jffi"))
        self.layerfs = os.path.join(snap, "bin", "layerfs")
        # The class-data archive, made for the copy: an archive records the paths of the jars it was made from, and
        # the JVM quietly ignores one made for the work tree's jars, so the mount-ready row would time a start
        # without it (as make build leaves it, so users start with it).
        r = subprocess.run([self.layerfs, "--train-startup"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=300)
        if r.returncode != 0:
            self.log(f"  warning: no class-data archive for the copy of layerfs: {tail(r.stderr.decode(errors='replace'))}")

    def prepare_data(self):
        s = self.s
        t0 = time.perf_counter()
        self.lowers = [os.path.join(self.base, "lower", n) for n in ("l1", "l2", "l3")]  # topmost first
        for d in self.lowers:
            os.makedirs(d)
        workload.write_big(os.path.join(self.lowers[2], "big.bin"), s["big_mib"])
        workload.write_meta_tree(os.path.join(self.lowers[2], "meta"), s["meta_files"])
        workload.write_merged_dir(self.lowers, "merged", s["merged"])
        self.tarball = os.path.join(self.base, "src.tar")
        ndirs, nfiles = workload.write_tarball(self.tarball, s["tar_files"])
        os.sync()
        self.log(f"prepared in {time.perf_counter() - t0:.1f} s: lower layers l1:l2:l3 with big.bin "
                 f"({s['big_mib']} MiB), meta/ ({s['meta_files']} files), merged/ ({s['merged']} names over 3 "
                 f"layers); src.tar ({nfiles} files in {ndirs} directories, "
                 f"{os.path.getsize(self.tarball) >> 20} MiB)")

    # ----------------------------------------------------------------------------------------------- rounds

    def each(self, mounts, fn):
        for t in self.targets:
            if mounts.get(t):
                fn(t, mounts[t].mnt)

    def run_round(self, r):
        s = self.s
        rdir = os.path.join(self.base, f"round{r}")
        os.makedirs(rdir)
        self.log(f"round {r}/{s['rounds']}")
        mounts = {}
        for t in self.targets:
            def do_mount(t=t):
                v = self.mount(t, rdir)
                mounts[t] = self.mounts[-1]
                return v
            if t == "kernel":
                try:
                    do_mount()
                except (WorkloadError, OSError) as e:
                    self.errors.append(dict(round=r, metric="mount", target=t, error=str(e)))
                    self.log(f"{self.clock()} {'mount':<15} {t:<15} ERROR {e}")
            else:
                self.record("mount_ready", t, do_mount)
        mib = s["big_mib"]
        only = self.args.only

        def big(mnt):
            return os.path.join(mnt, "big.bin")

        if "seq_write" in only:
            def seq_write(t, mnt):
                f = os.path.join(mnt, "seqwrite.bin")

                def go():
                    self.settle(False)
                    return mib / self.timed(["dd", "if=/dev/zero", f"of={f}", "bs=1M", f"count={mib}",
                                             "conv=fsync", "status=none"])
                self.record("seq_write", t, go)
                try:
                    os.unlink(f)
                except FileNotFoundError:
                    pass
            self.each(mounts, seq_write)

        if "seq_read" in only:
            def seq_read(t, mnt):
                for mid, cold in (("seq_read_cold", True), ("seq_read_warm", False)):
                    def go(cold=cold):
                        self.settle(cold, ["dd", "if=/dev/null", "of=/dev/null", "status=none"])
                        return mib / self.timed(["dd", f"if={big(mnt)}", "of=/dev/null", "bs=1M", "status=none"])
                    self.record(mid, t, go)
            self.each(mounts, seq_read)

        if "rand_read" in only:
            def rand_read(t, mnt):
                for mid, cold in (("rand_read_cold", True), ("rand_read_warm", False)):
                    def go(cold=cold):
                        self.settle(cold, ["fio", "--version"])
                        return self.fio_randread(big(mnt))
                    self.record(mid, t, go)
            self.each(mounts, rand_read)

        if "tree" in only:
            def tree(mnt):
                return os.path.join(mnt, "tree")

            def create(t, mnt):
                def go():
                    self.settle(False)
                    return self.worker("create-tree", tree(mnt), s["tree_files"])
                self.record("tree_create", t, go)
            self.each(mounts, create)

            for name, cmd in (("find", ["find"]), ("ls_lR", ["ls", "-lR"])):
                def walk(t, mnt, name=name, cmd=cmd):
                    for mid, cold in ((f"{name}_cold", True), (f"{name}_warm", False)):
                        def go(cold=cold):
                            self.settle(cold, cmd + ["/dev/null"])
                            return self.timed(cmd + [tree(mnt)])
                        self.record(mid, t, go)
                self.each(mounts, walk)

            def rm(t, mnt):
                def go():
                    self.settle(False)
                    return self.timed(["rm", "-rf", tree(mnt)])
                self.record("rm_tree", t, go)
            self.each(mounts, rm)
            self.daemon_memory(mounts)

        if "untar" in only:
            def untar(t, mnt):
                d = os.path.join(mnt, "untar")

                def go():
                    os.mkdir(d)
                    self.settle(False)
                    return self.timed(["tar", "-xf", self.tarball, "-C", d])
                if self.record("untar", t, go) is None:
                    return

                def tar_c():
                    self.settle(False)
                    return self.timed(["bash", "-o", "pipefail", "-c", 'tar -cf - -C "$1" . | cat >/dev/null',
                                       "tar-c", d])
                self.record("tar_c", t, tar_c)
            self.each(mounts, untar)

        if "copyup_append" in only:
            def copyup_append(t, mnt):
                def go():
                    self.settle(True)
                    return self.worker("append", big(mnt))
                self.record("copyup_append", t, go)
                os.sync()
            self.each(mounts, copyup_append)

        if "copyup_chmod" in only:
            def copyup_chmod(t, mnt):
                def go():
                    self.settle(True)
                    return self.worker("chmod-files", os.path.join(mnt, "meta"), s["meta_files"], "600")
                self.record("copyup_chmod", t, go)
            self.each(mounts, copyup_chmod)

        if "mv_dir" in only:
            def mv_dir(t, mnt):
                # The chmod tree (its files copied up by now where copyup_chmod ran, the directory merged): a
                # single rename where the mount writes redirects, else EXDEV and mv copies it all.
                def go():
                    self.settle(True)
                    return self.timed(["mv", os.path.join(mnt, "meta"), os.path.join(mnt, "meta-moved")])
                self.record("mv_dir", t, go)
                os.sync()
            self.each(mounts, mv_dir)

        if "readdir" in only:
            def readdir(t, mnt):
                for mid, cold in (("readdir_cold", True), ("readdir_warm", False)):
                    def go(cold=cold):
                        self.settle(cold)
                        return 1000 * self.worker("listdir", os.path.join(mnt, "merged"), s["merged"])
                    self.record(mid, t, go)
            self.each(mounts, readdir)

        for t in FUSE_TARGETS:
            m = mounts.get(t)
            if m and m.daemon:
                cpu = proc_cpu_seconds(m.daemon[0])
                if cpu is not None:
                    self.record("daemon_cpu", t, lambda cpu=cpu: cpu)
                    threads = proc_thread_cpu(m.daemon[0])
                    self.thread_cpu[t].append(threads)
                    top = sorted(threads.items(), key=lambda kv: -kv[1])[:6]
                    self.log(f"{self.clock()} {'daemon threads':<15} {t:<15} " +
                             ", ".join(f"{k} {v:.1f} s" for k, v in top))
        for t in self.targets:
            if t in mounts:
                self.unmount(mounts[t])
        if not any(p.startswith(rdir + "/") for p in mounted_points()):
            shutil.rmtree(rdir, ignore_errors=True)

    def daemon_memory(self, mounts):
        """The daemons' peak RSS right after the tree workloads; their RSS once they have been idle for
        IDLE_SECONDS, what a mount that sits there holds (layerfs gives its heap back when it goes idle)."""
        time.sleep(IDLE_SECONDS)
        for t in FUSE_TARGETS:
            m = mounts.get(t)
            if not (m and m.daemon):
                continue
            for mid, key in (("hwm_tree", "VmHWM"), ("rss_tree", "VmRSS")):
                def go(key=key):
                    kb = proc_status(m.daemon[0], key)
                    if kb is None:
                        raise WorkloadError(f"no {key} for daemon {m.daemon[0]}")
                    return kb / 1024
                self.record(mid, t, go)

    def execute(self):
        self.log(f"{self.title} ({self.mode}): {self.s['rounds']} rounds, targets {', '.join(self.targets)}")
        self.prepare()
        self.versions = versions(self.layerfs)
        self.log("; ".join(f"{k}: {v}" for k, v in self.versions.items()))
        for t, o in (("layerfs", self.args.layerfs_opts), ("fuse-overlayfs", self.args.fuse_overlayfs_opts),
                     ("kernel", self.args.kernel_opts)):
            if o:
                self.log(f"extra mount options for {t}: {o}")
        self.load_start = os.getloadavg()
        for r in range(1, self.s["rounds"] + 1):
            self.round = r
            t0 = time.monotonic()
            self.run_round(r)
            self.log(f"round {r} took {time.monotonic() - t0:.0f} s")
        self.load_end = os.getloadavg()

    # ---------------------------------------------------------------------------------------------- report

    def summary(self):
        rows = []
        for m in self.metrics:
            cells = {}
            for t in TARGETS:
                vals = self.results[m.id][t]
                if t not in m.targets:
                    cells[t] = None
                elif vals:
                    cells[t] = dict(median=statistics.median(vals), min=min(vals), max=max(vals), n=len(vals),
                                    values=vals)
                else:
                    cells[t] = dict(median=None, n=0, values=[])
            ratios = {}
            lf = cells["layerfs"]
            for other in ("fuse-overlayfs", "kernel", "layerfs-libfuse2"):
                o = cells[other]
                r = None
                if lf and o and lf.get("median") and o.get("median"):
                    r = lf["median"] / o["median"] if m.higher_better else o["median"] / lf["median"]
                ratios[other] = r
            rows.append(dict(id=m.id, label=m.label, short=m.short, unit=m.unit,
                             better="higher" if m.higher_better else "lower", cells=cells, ratios=ratios,
                             note=m.note))
        return rows

    def report(self, interrupted=None):
        rows = [r for r in self.summary()
                if any(c and c.get("n") for c in r["cells"].values()) or r["id"] in self.errored_metrics()]
        header = ["workload", "unit", "better", "kernel overlay", "fuse-overlayfs", "layerfs",
                  "layerfs-libfuse2", "layerfs vs fuse-ovl", "layerfs vs kernel", "layerfs vs libfuse2"]

        failed = {(e["metric"], e["target"]) for e in self.errors}

        def cell(c, mid, t):
            if c is None:
                return "n/a"
            if not c.get("n"):
                return "error" if (mid, t) in failed else "-"
            return f"{fmt(c['median'])} ({fmt(c['min'])}..{fmt(c['max'])})"

        def ratio(r):
            return "-" if r is None else f"{r:.0f}x" if r >= 10 else f"{r:.2f}x" if r >= 0.1 else f"{r:.3f}x"

        table = [[r["label"], r["unit"], r["better"],
                  *(cell(r["cells"][t], r["id"], t) for t in TARGETS),
                  ratio(r["ratios"]["fuse-overlayfs"]), ratio(r["ratios"]["kernel"]),
                  ratio(r["ratios"]["layerfs-libfuse2"])] for r in rows]
        explain = ("Cells: median (min..max) over the rounds. "
                   "Ratios are speed ratios of the medians: >1 means layerfs is faster (for memory: smaller), "
                   "<1 slower; 0.50x = layerfs takes twice as long.")
        meta = self.meta(interrupted)
        self.log("")
        self.log(f"{self.title}, {self.mode}, {meta['rounds_done']} round(s), {meta['date']}")
        self.log(explain)
        widths = [max(len(str(x)) for x in col) for col in zip(header, *table)]
        for i, line in enumerate([header] + table):
            self.log("  ".join(str(x).ljust(w) if j < 3 else str(x).rjust(w) for j, (x, w) in
                               enumerate(zip(line, widths))))
            if i == 0:
                self.log("  ".join("-" * w for w in widths))
        threads = self.thread_summary()
        for t, line in threads.items():
            self.log(f"{t} daemon CPU by thread (median s per round): {line}")
        for e in self.errors:
            self.log(f"error: round {e['round']} {e['metric']} on {e['target']}: {e['error']}")
        self.log(f"load average: {meta['load_start']} at the start, {meta['load_end']} at the end")

        with open(self.out + ".md", "w") as f:
            f.write(f"# {self.title} ({self.mode})\n\n")
            f.write(f"{meta['date']}; {meta['rounds_done']} round(s), interleaved kernel overlay / fuse-overlayfs /"
                    f" layerfs; data on {meta['filesystem']}.\n\n")
            f.write(explain + "\n\n")
            f.write("| " + " | ".join(header) + " |\n|" + "|".join(["---"] * 3 + ["--:"] * 5) + "|\n")
            for line in table:
                f.write("| " + " | ".join(x.replace("|", "\\|") for x in line) + " |\n")
            if threads:
                f.write("\nDaemon CPU by thread (median seconds per round):\n\n")
                for t, line in threads.items():
                    f.write(f"- {t}: {line}\n")
            f.write("\n## Machine and versions\n\n")
            for k in ("kernel", "cpu", "cores", "memory", "filesystem", "load_start", "load_end"):
                f.write(f"- {k}: {meta[k]}\n")
            for k, v in meta["versions"].items():
                f.write(f"- {k}: {v}\n")
            for k, v in meta["extra_options"].items():
                if v:
                    f.write(f"- extra mount options for {k}: `{v}`\n")
            f.write("\n## Method\n\n" + self.method() + "\n")
            if self.errors:
                f.write("\n## Errors\n\n")
                for e in self.errors:
                    f.write(f"- round {e['round']}, {e['metric']} on {e['target']}: {e['error']}\n")
            if interrupted:
                f.write(f"\n**Interrupted ({interrupted}): partial results.**\n")
        with open(self.out + ".json", "w") as f:
            json.dump(dict(meta=meta, metrics=rows, daemon_thread_cpu=self.thread_cpu, errors=self.errors), f,
                      indent=2)
        png = self.plot(rows)
        self.log("results: " + ", ".join(self.out + ext for ext in (".md", ".json", ".log")) +
                 (f", {png}" if png else " (no PNG: gnuplot not installed)"))

    def method(self):
        return METHOD.format(**self.s)

    def thread_summary(self):
        out = {}
        for t, rounds in self.thread_cpu.items():
            if not rounds:
                continue
            names = {n for r in rounds for n in r}
            med = {n: statistics.median([r.get(n, 0.0) for r in rounds]) for n in names}
            top = [(n, v) for n, v in sorted(med.items(), key=lambda kv: -kv[1]) if v >= 0.05][:8]
            out[t] = ", ".join(f"{n} {v:.1f}" for n, v in top) or "-"
        return out

    def errored_metrics(self):
        return {e["metric"] for e in self.errors}

    def meta(self, interrupted):
        cpu = "unknown"
        try:
            with open("/proc/cpuinfo") as f:
                cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), cpu)
        except OSError:
            pass
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        done = max((len(v) for m in self.results.values() for v in m.values()), default=0)
        return dict(date=self.started.isoformat(timespec="seconds"), mode=self.mode, sizes=self.s,
                    rounds_done=done, targets=list(self.targets), kernel=os.uname().release, cpu=cpu,
                    cores=os.cpu_count(), memory=f"{mem:.1f} GiB",
                    filesystem=f"{getattr(self, 'fs', None) or fs_type(self.args.dir)} ({self.args.dir})",
                    versions=getattr(self, "versions", {}),
                    extra_options={"layerfs": self.args.layerfs_opts,
                                   "fuse-overlayfs": self.args.fuse_overlayfs_opts,
                                   "kernel": self.args.kernel_opts},
                    load_start=fmt_load(getattr(self, "load_start", None)),
                    load_end=fmt_load(getattr(self, "load_end", None) or os.getloadavg()),
                    interrupted=interrupted)

    def plot(self, rows):
        if not shutil.which("gnuplot"):
            return None
        data = self.out + "-ratios.tsv"
        png = self.out + ".png"
        shown = [r["ratios"][t] for r in rows for t in ("fuse-overlayfs", "kernel") if r["ratios"][t]]
        if not shown:
            return None
        lo = 10 ** math.floor(math.log10(min(shown + [0.5])))
        hi = 10 ** math.ceil(math.log10(max(shown + [2])))
        with open(data, "w") as f:
            for r in rows:
                fo, k = r["ratios"]["fuse-overlayfs"], r["ratios"]["kernel"]
                if fo is None and k is None:
                    continue
                f.write('"{}"\t{}\t{}\n'.format(r["short"],
                                                 "NaN" if fo is None else f"{fo:.4f}",
                                                 "NaN" if k is None else f"{k:.4f}"))
        script = f"""
set terminal pngcairo size 1200,700 font ",10"
set output "{png}"
set title "layerfs speed ratio per workload, medians ({self.mode}, {self.meta(None)['rounds_done']} rounds): >1 layerfs faster (RSS: smaller), <1 slower"
set datafile separator "\\t"
set datafile missing "NaN"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set yrange [{lo}:{hi}]
set grid ytics
set xtics rotate by 40 right scale 0
set bmargin 8
set key top left
plot "{data}" using 2:xtic(1) title "layerfs vs fuse-overlayfs" lc rgb "#3b7dd8", \\
     "" using 3 title "layerfs vs kernel overlay" lc rgb "#e07b39", \\
     1 with lines lc rgb "black" dt 2 notitle
"""
        try:
            r = subprocess.run(["gnuplot"], input=script.encode(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, timeout=60)
        except subprocess.TimeoutExpired:
            return None
        if r.returncode != 0 or not os.path.exists(png):
            self.log(f"gnuplot failed: {tail(r.stderr.decode(errors='replace'))}")
            return None
        os.unlink(data)
        return png


METHOD = """\
- Each round mounts the targets afresh over the same lower layers `l1:l2:l3` (on the same filesystem),
  each with a new upper and work directory, then runs each workload on kernel overlay, fuse-overlayfs,
  layerfs (its default transport, kernel) and layerfs-libfuse2 (`-o transport=libfuse2`) in turn
  (interleaved); {rounds} rounds. Every writing workload writes under its own new path.
- Before each measurement: `sync`. Cold runs also `echo 3 > /proc/sys/vm/drop_caches`; a warm run follows its
  cold run on the same target at once.
- seq write: `dd if=/dev/zero bs=1M count={big_mib} conv=fsync` to a new file; seq read: `dd bs=1M` of the
  {big_mib} MiB file of the bottom lower layer.
- 4k random read: fio, psync, queue depth 1, {rand_ios} reads over the {big_mib} MiB lower file, same offsets
  warm as cold; IOPS = 1 / mean read latency.
- tree: {tree_files} files of 0-4 KiB in 200 directories, created by one Python process (timed inside it);
  then `find`, `ls -lR` (cold, warm) and `rm -rf`; daemon memory is read from /proc/PID/status right after.
- untar: GNU tar x of a deterministic tarball ({tar_files} files, 64 B-128 KiB, nested directories, a few
  symlinks) into a new directory; tar c: `tar -cf - . | cat >/dev/null` of it, after a sync.
- copy-up: one append to the {big_mib} MiB lower file (the time of open+write+close, cold); chmod 600 of
  {meta_files} lower files (one Python process, cold).
- mv lower dir: `mv` of that directory of {meta_files} files to a new name, cold: one rename where the mount
  writes redirects (`redirect_dir=on`), else EXDEV and mv copies the tree.
- readdir: one `os.listdir` of a directory whose {merged} names come from the three layers (overlapping
  ranges), cold and warm.
- mount ready: layerfs: the `layerfs` command (it returns once the mount answers); fuse-overlayfs: from
  starting the command until a stat of the mount point is answered by the mount. Not measured for the kernel.
- daemon CPU: utime+stime of the daemon over its whole round (all workloads)."""


def fmt(v):
    if v is None:
        return "-"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def fmt_load(load):
    return "n/a" if not load else " ".join(f"{x:.2f}" for x in load)


def fs_type(path):
    try:
        out = subprocess.run(["findmnt", "-no", "FSTYPE,SOURCE", "-T", path], capture_output=True, text=True,
                             timeout=10).stdout.split()
        return f"{out[0]} on {out[1]}" if len(out) >= 2 else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def versions(layerfs):
    def first_line(cmd, want=""):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            lines = (r.stdout + r.stderr).strip().splitlines()
            return next((line for line in lines if want in line), "?")
        except (OSError, subprocess.TimeoutExpired):
            return "?"
    rev = first_line(["git", "-C", ROOT, "describe", "--always", "--dirty"])
    return {"layerfs": f"{first_line([layerfs, '--version'])} (git {rev})",
            "fuse-overlayfs": first_line(["fuse-overlayfs", "--version"], "fuse-overlayfs").replace("fuse-overlayfs: ", ""),
            "fio": first_line(["fio", "--version"]),
            "java": first_line(["java", "-version"])}


def preflight(args):
    problems = []
    if os.geteuid() != 0:
        problems.append("run as root (it mounts, and drops the page cache)")
    for tool in ("fio", "dd", "tar", "find", "ls", "umount", "findmnt"):
        if not shutil.which(tool):
            problems.append(f"{tool} is missing (make bench installs what it needs: scripts/install-deps.sh bench)")
    if "fuse-overlayfs" in args.targets and not shutil.which("fuse-overlayfs"):
        problems.append("fuse-overlayfs is missing (scripts/install-deps.sh installs it)")
    if set(args.targets) & set(LAYERFS_TRANSPORTS) and not os.path.exists(
            os.path.join(ROOT, "fuse-mount", "target", "layerfs.jar")):
        problems.append("fuse-mount/target/layerfs.jar is missing: run make build (make bench does)")
    if set(args.targets) & set(FUSE_TARGETS) and not os.path.exists("/dev/fuse"):
        problems.append("/dev/fuse is missing")
    if not os.path.isdir(args.dir):
        problems.append(f"--dir {args.dir} is not a directory")
    return problems


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller sizes and fewer rounds (about 2 minutes)")
    p.add_argument("--rounds", type=int, help="rounds (default: 5, quick: 3)")
    p.add_argument("--targets", default=",".join(TARGETS), help="comma-separated subset of " + ",".join(TARGETS))
    p.add_argument("--only", default=",".join(WORKLOADS), help="comma-separated subset of " + ",".join(WORKLOADS))
    p.add_argument("--dir", default=os.environ.get("BENCH_DIR", "/var/tmp"),
                   help="where to create the data directory (default /var/tmp)")
    p.add_argument("--results", default=os.path.join(ROOT, "results"), help="output directory")
    p.add_argument("--keep", action="store_true", help="keep the data directory")
    p.add_argument("--layerfs-opts", default="",
                   help="extra -o options for layerfs, on both transports (e.g. timeout=60)")
    p.add_argument("--fuse-overlayfs-opts", default="", help="extra -o options for fuse-overlayfs")
    p.add_argument("--kernel-opts", default="", help="extra -o options for the kernel overlay (e.g. redirect_dir=on)")
    args = p.parse_args()
    args.targets = [t for t in TARGETS if t in args.targets.split(",")]
    args.only = set(args.only.split(","))
    bad = args.only - set(WORKLOADS)
    if bad or not args.targets or (args.rounds is not None and args.rounds < 1):
        p.error(f"unknown workload(s) {', '.join(sorted(bad))}" if bad else "nothing to run")
    problems = preflight(args)
    if problems:
        for msg in problems:
            print(f"bench: {msg}", file=sys.stderr)
        return 2

    return run(Bench(args))


def run(bench):
    """Runs BENCH (a Bench), tears down whatever happens, reports; the exit status."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    bench.round = 0
    interrupted = None
    failure = None
    try:
        bench.execute()
    except Interrupted as e:
        interrupted = str(e)
        bench.log(f"\ninterrupted ({interrupted}): unmounting and cleaning up")
    except Exception as e:  # a harness failure: still tear down and report what was measured
        failure = e
        bench.log(f"\n{bench.prefix} failed: {type(e).__name__}: {e}")
    finally:
        bench.teardown()
    bench.report(interrupted)
    if failure is not None:
        raise failure
    if interrupted:
        return 130
    return 1 if bench.errors else 0


if __name__ == "__main__":
    sys.exit(main())
