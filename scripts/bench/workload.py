#!/usr/bin/env python3
"""Data generation and the timed file-system operations of the layerfs benchmark.

Imported by bench.py to prepare the lower layers and the tarball (untimed), and run as a child process for
the workloads that need a loop over many files (timed inside, so the interpreter's start-up is not counted):

    workload.py create-tree DIR FILES        create FILES small files in a tree under DIR (DIR must not exist)
    workload.py chmod-files DIR FILES MODE   chmod the first FILES files of the prepared lower tree DIR
    workload.py listdir DIR EXPECT           one readdir of DIR; fails unless it has EXPECT entries
    workload.py append FILE                  append one line to FILE (the first write copies a lower file up)
    workload.py create-flat DIR FILES        create FILES empty files in the one new directory DIR
    workload.py read-layer DIR LAYER FILES   read the files layer LAYER of the hundred-layer stack put in DIR

Each prints one line, the elapsed seconds, on stdout, and exits non-zero (message on stderr) on an error.
Everything generated is deterministic: the same sizes give byte-identical data on every run.
"""
import io
import os
import random
import stat
import sys
import tarfile
import time

TREE_FANOUT = (20, 10)          # create-tree: 20 top directories x 10 subdirectories, files spread over the leaves
META_FILES_PER_DIR = 100        # chmod tree in the lower layer: 100 files a directory
SMALL_MAX = 4096                # create-tree: file sizes 0..4095 bytes


def _pattern(size, seed):
    """A deterministic, incompressible-looking buffer."""
    return random.Random(seed).randbytes(size)


# ---------------------------------------------------------------------------------------------------- names

def tree_paths(files):
    """Relative directory and file paths of the create-tree workload."""
    top, sub = TREE_FANOUT
    leaves = [f"d{a:02d}/s{b:02d}" for a in range(top) for b in range(sub)]
    paths = [f"{leaves[i % len(leaves)]}/f{i:05d}.txt" for i in range(files)]
    return [f"d{a:02d}" for a in range(top)] + leaves, paths


def meta_paths(files):
    """Relative paths of the lower files that the chmod workload copies up (metadata only)."""
    return [f"m{i // META_FILES_PER_DIR:03d}/f{i % META_FILES_PER_DIR:03d}" for i in range(files)]


# ---------------------------------------------------------------------------------------------- preparation

def write_big(path, mib):
    """A file of MIB MiB of non-zero data (no holes, so every target copies and reads real blocks)."""
    block = _pattern(1 << 20, 1)
    with open(path, "wb") as f:
        for i in range(mib):
            # vary each MiB a little so that no two blocks are equal
            f.write(i.to_bytes(8, "little") + block[8:])
        f.flush()
        os.fsync(f.fileno())


def write_meta_tree(root, files):
    data = b"meta\n" * 12
    for rel in meta_paths(files):
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, 0o644)


def write_merged_dir(layers, name, entries):
    """A directory NAME present in every layer (topmost first); together they list ENTRIES names once each.

    The names are split in overlapping ranges, so about a fifth of them exist in two layers (the topmost wins);
    one name in twenty is a subdirectory."""
    n = len(layers)
    span = entries / n
    overlap = int(span * 0.25)
    for k, layer in enumerate(layers):
        d = os.path.join(layer, name)
        os.makedirs(d, exist_ok=True)
        lo = int(k * span)
        hi = min(entries, int((k + 1) * span) + (overlap if k < n - 1 else 0))
        for i in range(lo, hi):
            p = os.path.join(d, f"e{i:05d}")
            if i % 20 == 0:
                os.makedirs(p, exist_ok=True)
            else:
                with open(p, "wb") as f:
                    f.write(b"x")


def write_tarball(path, files, seed=42):
    """A source-like tarball: FILES regular files of log-spread sizes (64 B .. 128 KiB) in nested directories,
    plus a few symbolic links. Fixed owner, modes and times, so the bytes are the same on every run."""
    rng = random.Random(seed)
    pool = _pattern(1 << 20, seed)
    pool2 = pool + pool                                  # sizes stay below 1 MiB: any offset has room
    mtime = 1_700_000_000
    exts = [".c", ".h", ".java", ".py", ".md", ".txt", ".json", ".sh"]
    dirs = ["src"]
    entries = []
    for i in range(files):
        if i % 12 == 0 or len(dirs) < 4:
            parent = rng.choice(dirs)
            if parent.count("/") < 5:
                d = f"{parent}/dir{len(dirs):04d}"
                dirs.append(d)
        parent = rng.choice(dirs)
        size = int(64 * (2048 ** rng.random()))          # log-uniform 64 B .. 128 KiB
        entries.append((f"{parent}/file{i:05d}{rng.choice(exts)}", size, rng.randrange(0, len(pool))))

    def info(name, kind, size=0, mode=0o644):
        ti = tarfile.TarInfo(name)
        ti.type, ti.size, ti.mode, ti.mtime = kind, size, mode, mtime
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = "root"
        return ti

    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tar:
        for d in sorted(dirs):
            tar.addfile(info(d, tarfile.DIRTYPE, mode=0o755))
        for name, size, off in sorted(entries):
            chunk = pool2[off:off + size]
            tar.addfile(info(name, tarfile.REGTYPE, size, 0o755 if name.endswith(".sh") else 0o644),
                        io.BytesIO(chunk))
        for j, (name, _, _) in enumerate(sorted(entries)[:: max(1, files // 20)]):
            link = info(f"src/link{j:03d}", tarfile.SYMTYPE, mode=0o777)
            link.linkname = name[len("src/"):]
            tar.addfile(link)
    return len(dirs), len(entries)


# ------------------------------------------------------------------------------------------ timed workloads

def create_tree(root, files):
    dirs, paths = tree_paths(files)
    buf = _pattern(SMALL_MAX, 7)
    t0 = time.perf_counter()
    os.mkdir(root)
    for d in dirs:
        os.mkdir(os.path.join(root, d))
    for i, rel in enumerate(paths):
        fd = os.open(os.path.join(root, rel), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            size = (i * 7919) % SMALL_MAX
            if size:
                os.write(fd, buf[:size])
        finally:
            os.close(fd)
    return time.perf_counter() - t0


def chmod_files(root, files, mode):
    paths = [os.path.join(root, rel) for rel in meta_paths(files)]
    t0 = time.perf_counter()
    for p in paths:
        os.chmod(p, mode)
    return time.perf_counter() - t0


def flat_name(i):
    return f"f{i:07d}"


def create_flat(root, files):
    t0 = time.perf_counter()
    os.mkdir(root)
    for i in range(files):
        os.close(os.open(os.path.join(root, flat_name(i)), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    return time.perf_counter() - t0


def layer_name(layer, j):
    return f"f{layer:03d}_{j:05d}"


def write_layers(layers, files):
    """The hundred-layer stack: LAYERS (topmost first, numbered from 0) each put FILES files of 1-2 KiB in the one
    directory shared/, and a file common that every layer has (the topmost wins); every layer but the bottom one
    whites out the first file of the layer below it, as a later build step deleting a file does."""
    data = _pattern(2048, 3)
    n = len(layers)
    for i, top in enumerate(layers):
        shared = os.path.join(top, "shared")
        os.makedirs(shared)
        for j in range(files):
            with open(os.path.join(shared, layer_name(i, j)), "wb") as f:
                f.write(data[:1024 + (i * 7 + j) % 1024])
        with open(os.path.join(top, "common"), "wb") as f:
            f.write(f"layer {i}\n".encode())
        if i + 1 < n:
            os.mknod(os.path.join(shared, layer_name(i + 1, 0)), 0o600 | stat.S_IFCHR, os.makedev(0, 0))


def read_layer(root, layer, files):
    """Reads every visible file of LAYER (its first one is whited out by the layer above, unless it is the top)."""
    t0 = time.perf_counter()
    first = 1 if layer > 0 else 0
    for j in range(first, files):
        with open(os.path.join(root, "shared", layer_name(layer, j)), "rb") as f:
            f.read()
    return time.perf_counter() - t0


def write_many(root, files, per_dir=1000):
    """FILES empty files, PER_DIR a directory: the million-file lower layer."""
    for d in range((files + per_dir - 1) // per_dir):
        sub = os.path.join(root, f"d{d:04d}")
        os.makedirs(sub)
        for i in range(min(per_dir, files - d * per_dir)):
            os.close(os.open(os.path.join(sub, flat_name(i)), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))


def listdir(path, expect):
    t0 = time.perf_counter()
    names = os.listdir(path)
    elapsed = time.perf_counter() - t0
    if len(names) != expect:
        raise SystemExit(f"listdir {path}: {len(names)} entries, expected {expect}")
    return elapsed


def append(path):
    t0 = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, b"appended by the layerfs benchmark\n")
    finally:
        os.close(fd)
    return time.perf_counter() - t0


def main(argv):
    if not argv:
        raise SystemExit(__doc__)
    cmd, args = argv[0], argv[1:]
    try:
        if cmd == "create-tree":
            t = create_tree(args[0], int(args[1]))
        elif cmd == "chmod-files":
            t = chmod_files(args[0], int(args[1]), int(args[2], 8))
        elif cmd == "listdir":
            t = listdir(args[0], int(args[1]))
        elif cmd == "append":
            t = append(args[0])
        elif cmd == "create-flat":
            t = create_flat(args[0], int(args[1]))
        elif cmd == "read-layer":
            t = read_layer(args[0], int(args[1]), int(args[2]))
        else:
            raise SystemExit(f"workload.py: unknown command {cmd}")
    except OSError as e:
        raise SystemExit(f"workload.py {cmd}: {e}")
    print(f"{t:.9f}")


if __name__ == "__main__":
    main(sys.argv[1:])
