#!/usr/bin/env python3
"""layerfs at scale: one directory of 100,000 entries, a hundred layers, a million files in one mount; the kernel
overlay, fuse-overlayfs and layerfs side by side, interleaved, as in bench.py.

Run it through `make bench` (SCALE=0 skips it) or directly, as root:

    python3 scripts/bench/scale.py [--quick] [--rounds N] [--targets kernel,fuse-overlayfs,layerfs]
                                   [--dir /var/tmp] [--results DIR] [--keep]

Each round runs three stacks, every target mounted afresh over each (its own upper and work directory):
- big directory: an empty lower layer; FILES empty files created in one new directory, then `ls -l` of it cold
  and warm, then `rm -rf` of it. fuse-overlayfs grows quadratically here: the create row has a time limit, and
  a target that did not finish in it is reported under the table (and in the JSON) with how many files it made,
  and the rows after it are skipped for that target.
- hundred layers: LAYERS lower layers sharing one directory (each adds files, and whites out one of the layer
  below), mount ready, `find` cold, `ls -lR` warm, and every file of the bottom layer read, cold.
- many files: one lower layer of MANY empty files (1,000 a directory); `find` over all of them, cold, then the
  daemon's RSS, and its RSS again once the kernel has dropped its inodes (`echo 2 > drop_caches`, so the daemon
  gets FORGET for every one) and it has been idle: what a daemon keeps of a million files it no longer serves.

Everything this script mounts is unmounted and every daemon it started is waited for, whatever happens; results
go to results/scale-*.md, .json, .log (and a PNG with gnuplot).
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

import bench  # noqa: E402
import workload  # noqa: E402
from bench import FUSE_TARGETS, IDLE_SECONDS, WorkloadError  # noqa: E402

TARGETS = ("kernel", "fuse-overlayfs", "layerfs")
FUSE_ONLY = ("fuse-overlayfs", "layerfs")


def Metric(short, mid, label, unit, higher_better, targets=TARGETS, note=""):
    return bench.Metric(short, mid, label, unit, higher_better, targets, note)

SIZES = {
    "full": dict(rounds=2, dir_files=100_000, create_limit=300, layers=100, layer_files=100,
                 many=1_000_000, timeout=1800),
    "quick": dict(rounds=1, dir_files=10_000, create_limit=120, layers=100, layer_files=10,
                  many=100_000, timeout=600),
}


def metrics_for(s):
    return [
        Metric("create big dir", "dir_create", f"create {s['dir_files']:,} files in one directory", "s", False,
               note=f"a time limit of {s['create_limit']} s"),
        Metric("ls -l big dir cold", "dir_ls_cold", f"ls -l of that directory of {s['dir_files']:,}, cold", "s",
               False),
        Metric("ls -l big dir warm", "dir_ls_warm", f"ls -l of that directory of {s['dir_files']:,}, warm", "s",
               False),
        Metric("rm big dir", "dir_rm", f"rm -rf of that directory of {s['dir_files']:,}", "s", False),
        Metric("mount 100 layers", "layers_mount", f"mount ready, {s['layers']} lower layers", "ms", False,
               FUSE_ONLY),
        Metric("find 100 layers", "layers_find", f"find over {s['layers']} layers "
               f"({s['layers'] * s['layer_files']:,} files in one merged directory), cold", "s", False),
        Metric("ls -lR 100 layers", "layers_ls", f"ls -lR over the {s['layers']} layers, warm", "s", False),
        Metric("read bottom layer", "layers_read", f"read the {s['layer_files']} files of the bottom of "
               f"{s['layers']} layers, cold", "s", False),
        Metric("find many files", "many_find", f"find over {s['many']:,} lower files, cold", "s", False),
        Metric("RSS after find", "many_rss", f"daemon VmRSS after find over {s['many']:,} files", "MiB", False,
               FUSE_ONLY),
        Metric("RSS after forget", "many_rss_forgot", "daemon VmRSS once the kernel dropped those inodes "
               f"(FORGET) and {IDLE_SECONDS} s idle", "MiB", False, FUSE_ONLY),
    ]


METHOD = """\
- Each round mounts the targets afresh over each stack, with a new upper and work directory each, and runs
  each workload on kernel overlay, fuse-overlayfs and layerfs in turn (interleaved); {rounds} round(s). Before
  each measurement: `sync`; cold runs also `echo 3 > /proc/sys/vm/drop_caches`.
- big directory: {dir_files} empty files created in one new directory by one Python process (timed inside it;
  given {create_limit} s at most), `ls -l` of it (output to /dev/null) cold and warm, `rm -rf` of it.
- hundred layers: {layers} lower layers, each with {layer_files} files of 1-2 KiB in `shared/` and a file
  `common` (the topmost wins); every layer but the bottom whites out the first file of the layer below. Mount
  ready as in bench.py; `find` of the mount, cold; `ls -lR` of it, warm; every visible file of the bottom
  layer opened and read by one Python process, cold (each name is looked for through all the layers).
- many files: one lower layer of {many} empty files, 1,000 a directory; `find` of the mount, cold; the daemon's
  VmRSS right after; then `echo 2 > drop_caches` (the kernel drops the inodes and sends FORGET for each), {idle}
  s idle, VmRSS again."""


class Scale(bench.Bench):
    title = "layerfs at scale"

    prefix = "scale"
    sizes = SIZES

    @staticmethod
    def make_metrics(s):
        return metrics_for(s)

    def __init__(self, args):
        super().__init__(args)
        self.over_limit = []

    def report(self, interrupted=None):
        super().report(interrupted)
        with open(self.out + ".json") as f:
            data = json.load(f)
        data["over_limit"] = self.over_limit
        with open(self.out + ".json", "w") as f:
            json.dump(data, f, indent=2)
        if not self.over_limit:
            return
        lines = [f"- round {o['round']}, {o['metric']} on {o['target']}: stopped at the limit of {o['limit']} s, "
                 f"{o['done'] if o['done'] is not None else 'an unknown number'} of {self.s['dir_files']:,} "
                 f"files made" for o in self.over_limit]
        for line in lines:
            self.log("over the limit: " + line[2:])
        with open(self.out + ".md", "a") as f:
            f.write("\n## Over the time limit\n\n" + "\n".join(lines) + "\n")

    def method(self):
        return METHOD.format(idle=IDLE_SECONDS, **self.s)

    def prepare_data(self):
        s = self.s
        t0 = time.perf_counter()
        lower = os.path.join(self.base, "lower")
        self.empty = os.path.join(lower, "empty")
        os.makedirs(self.empty)
        self.layer_dirs = [os.path.join(lower, "layers", f"l{i:03d}") for i in range(s["layers"])]  # topmost first
        workload.write_layers(self.layer_dirs, s["layer_files"])
        self.many = os.path.join(lower, "many")
        workload.write_many(self.many, s["many"])
        os.sync()
        self.log(f"prepared in {time.perf_counter() - t0:.1f} s: an empty layer; {s['layers']} layers of "
                 f"{s['layer_files']} files; one layer of {s['many']:,} files")

    def stack(self, name, lowers, fn):
        """Mounts every target over LOWERS (in a directory of its own), runs FN(mounts), unmounts them."""
        self.lowers = lowers
        self.lowers_cwd = os.path.dirname(lowers[0])
        sdir = os.path.join(self.base, f"round{self.round}", name)
        os.makedirs(sdir)
        mounts = {}
        for t in self.targets:
            def do_mount(t=t):
                v = self.mount(t, sdir)
                mounts[t] = self.mounts[-1]
                return v
            if name == "layers" and t != "kernel":
                self.record("layers_mount", t, do_mount)
            else:
                try:
                    do_mount()
                except (WorkloadError, OSError) as e:
                    self.errors.append(dict(round=self.round, metric=f"mount ({name})", target=t, error=str(e)))
                    self.log(f"{self.clock()} {'mount ' + name:<15} {t:<15} ERROR {e}")
        try:
            fn(mounts)
        finally:
            for m in mounts.values():
                self.unmount(m)

    def big_dir(self, mounts):
        s = self.s
        made = {}
        for t, m in mounts.items():
            d = os.path.join(m.mnt, "big")

            self.settle(False)
            try:
                r = subprocess.run([sys.executable, os.path.join(HERE, "workload.py"), "create-flat", d,
                                    str(s["dir_files"])], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=s["create_limit"])
                if r.returncode != 0:
                    raise WorkloadError(f"create-flat exited {r.returncode}: "
                                        f"{bench.tail(r.stderr.decode(errors='replace'))}")
                out = r.stdout.decode()
            except subprocess.TimeoutExpired:
                # Not an error of the target: it is that slow. Said under the table, with how far it got.
                try:
                    done = len(os.listdir(d))
                except OSError:
                    done = None
                self.over_limit.append(dict(round=self.round, metric="dir_create", target=t,
                                            limit=s["create_limit"], done=done))
                self.log(f"{self.clock()} {'dir_create':<15} {t:<15} over the limit of {s['create_limit']} s "
                         f"({done if done is not None else '?'} of {s['dir_files']:,} files made)")
                made[t] = False
                continue
            except (WorkloadError, OSError) as e:
                self.errors.append(dict(round=self.round, metric="dir_create", target=t, error=str(e)))
                self.log(f"{self.clock()} {'dir_create':<15} {t:<15} ERROR {e}")
                made[t] = False
                continue
            made[t] = self.record("dir_create", t, lambda out=out: float(out.strip().splitlines()[-1])) is not None
        for cold, mid in ((True, "dir_ls_cold"), (False, "dir_ls_warm")):
            for t, m in mounts.items():
                if made[t]:
                    d = os.path.join(m.mnt, "big")

                    def ls(d=d, cold=cold):
                        self.settle(cold, ["ls", "-l", "/"])
                        return self.timed(["ls", "-l", d])
                    self.record(mid, t, ls)
        for t, m in mounts.items():
            if made[t]:
                d = os.path.join(m.mnt, "big")

                def rm(d=d):
                    self.settle(False)
                    return self.timed(["rm", "-rf", d])
                self.record("dir_rm", t, rm)

    def layers(self, mounts):
        s = self.s
        for t, m in mounts.items():
            def find(mnt=m.mnt):
                self.settle(True, ["find", "/proc/self/fd"])
                return self.timed(["find", mnt])
            self.record("layers_find", t, find)

            def ls(mnt=m.mnt):
                self.settle(False)
                return self.timed(["ls", "-lR", mnt])
            self.record("layers_ls", t, ls)
        for t, m in mounts.items():
            def read(mnt=m.mnt):
                self.settle(True)
                return self.worker("read-layer", mnt, s["layers"] - 1, s["layer_files"])
            self.record("layers_read", t, read)

    def many_files(self, mounts):
        for t, m in mounts.items():
            def find(mnt=m.mnt):
                self.settle(True, ["find", "/proc/self/fd"])
                return self.timed(["find", mnt])
            self.record("many_find", t, find)
            if t in FUSE_TARGETS and m.daemon:
                self.record("many_rss", t, lambda m=m: self.rss(m))
                os.sync()
                with open("/proc/sys/vm/drop_caches", "w") as f:
                    f.write("2\n")
                time.sleep(IDLE_SECONDS)
                self.record("many_rss_forgot", t, lambda m=m: self.rss(m))

    @staticmethod
    def rss(m):
        kb = bench.proc_status(m.daemon[0], "VmRSS")
        if kb is None:
            raise WorkloadError(f"no VmRSS for daemon {m.daemon[0]}")
        return kb / 1024

    def run_round(self, r):
        self.log(f"round {r}/{self.s['rounds']}")
        self.stack("bigdir", [self.empty], self.big_dir)
        self.stack("layers", self.layer_dirs, self.layers)
        self.stack("many", [self.many], self.many_files)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller sizes, one round (a few minutes)")
    p.add_argument("--rounds", type=int, help="rounds (default: 2, quick: 1)")
    p.add_argument("--targets", default=",".join(TARGETS), help="comma-separated subset of " + ",".join(TARGETS))
    p.add_argument("--dir", default=os.environ.get("BENCH_DIR", "/var/tmp"),
                   help="where to create the data directory (default /var/tmp)")
    p.add_argument("--results", default=os.path.join(bench.ROOT, "results"), help="output directory")
    p.add_argument("--keep", action="store_true", help="keep the data directory")
    args = p.parse_args()
    args.targets = [t for t in TARGETS if t in args.targets.split(",")]
    args.layerfs_opts = args.fuse_overlayfs_opts = args.kernel_opts = ""
    if not args.targets or (args.rounds is not None and args.rounds < 1):
        p.error("nothing to run")
    problems = bench.preflight(args)
    if problems:
        for msg in problems:
            print(f"scale: {msg}", file=sys.stderr)
        return 2
    return bench.run(Scale(args))


if __name__ == "__main__":
    sys.exit(main())
