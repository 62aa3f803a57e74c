package dev.layerfs.it.fuzz;

import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.RawDirent;
import dev.layerfs.core.nativeio.Stat;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SortedMap;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * The layers of one sequence: what each layer holds below the sequence's own top-level directory. Layer 0 is the
 * upper layer, 1..{@link #lowers} the lower layers, topmost first. The entries of a layer are listed parents
 * first; "." is the sequence's directory itself (a layer without a "." entry does not have that directory).
 *
 * <p>The text form, one entry a line (this is what a shrunk regression test carries):
 * <pre>
 * lowers 2
 * L1 dir . 0755 0:0 1000000000.000000001
 * L1 file a 0644 1000:1000 1100000000.000000005 size=12 seed=7
 * L1 file big 0600 0:0 1100000000.000000005 size=1048576 seed=9 sparse
 * L1 link s 0:0 1100000000.000000005 -> ../a
 * L1 hard h -> a
 * L1 fifo p 0644 0:0 1100000000.000000005
 * L2 dir d 0700 0:0 1100000000.000000005 opaque user.k=v1
 * U wh a
 * </pre>
 *
 * <p>A header {@code lowers 2 aufs 2} says that on layerfs's side lower layer 2 holds its whiteouts and opaque
 * markers in AUFS form ({@code .wh.NAME}, {@code .wh..wh..opq}), as containers-storage extracts image layers for a
 * mount program; the kernel's side always gets character devices 0/0 and trusted.overlay.opaque, which is what the
 * kernel understands. The two sides then hold the same layers, each in a dialect its overlay reads.
 */
record Stack(int lowers, List<Entry> entries, java.util.Set<Integer> aufs) {

    Stack(int lowers, List<Entry> entries) {
        this(lowers, entries, java.util.Set.of());
    }

    enum Kind { DIR, FILE, LINK, HARD, FIFO, WH }

    /** One object in one layer. */
    record Entry(int layer, Kind kind, String path, int mode, int uid, int gid, long sec, int nsec, long size,
            long seed, boolean sparse, String target, SortedMap<String, String> xattrs, boolean opaque) {

        static Entry whiteout(int layer, String path) {
            return new Entry(layer, Kind.WH, path, 0, 0, 0, 0, 0, 0, 0, false, null, new TreeMap<>(), false);
        }

        static Entry hard(int layer, String path, String target) {
            return new Entry(layer, Kind.HARD, path, 0, 0, 0, 0, 0, 0, 0, false, target, new TreeMap<>(), false);
        }

        String text() {
            StringBuilder b = new StringBuilder(layerName(layer)).append(' ')
                    .append(kind.name().toLowerCase()).append(' ').append(path);
            switch (kind) {
                case WH -> {
                    return b.toString();
                }
                case HARD -> {
                    return b.append(" -> ").append(target).toString();
                }
                case LINK -> b.append(' ').append(uid).append(':').append(gid).append(' ').append(time(sec, nsec));
                default -> b.append(' ').append(octal(mode)).append(' ').append(uid).append(':').append(gid)
                        .append(' ').append(time(sec, nsec));
            }
            if (kind == Kind.FILE) {
                b.append(" size=").append(size).append(" seed=").append(seed);
                if (sparse) {
                    b.append(" sparse");
                }
            }
            if (kind == Kind.LINK) {
                b.append(" -> ").append(target);
            }
            if (opaque) {
                b.append(" opaque");
            }
            xattrs.forEach((k, v) -> b.append(' ').append(k).append('=').append(v));
            return b.toString();
        }

        static Entry parse(String line) {
            String[] f = line.trim().split(" +");
            int layer = f[0].equals("U") ? 0 : Integer.parseInt(f[0].substring(1));
            Kind kind = Kind.valueOf(f[1].toUpperCase());
            String path = f[2];
            if (kind == Kind.WH) {
                return whiteout(layer, path);
            }
            if (kind == Kind.HARD) {
                return hard(layer, path, f[4]);
            }
            int i = 3;
            int mode = 0777;
            if (kind != Kind.LINK) {
                mode = Integer.parseInt(f[i++], 8);
            }
            String[] owner = f[i++].split(":");
            String[] t = f[i++].split("\\.");
            long size = 0;
            long seed = 0;
            boolean sparse = false;
            boolean opaque = false;
            String target = null;
            SortedMap<String, String> x = new TreeMap<>();
            for (; i < f.length; i++) {
                if (f[i].equals("->")) {
                    target = f[++i];
                } else if (f[i].equals("sparse")) {
                    sparse = true;
                } else if (f[i].equals("opaque")) {
                    opaque = true;
                } else if (f[i].startsWith("size=")) {
                    size = Long.parseLong(f[i].substring(5));
                } else if (f[i].startsWith("seed=")) {
                    seed = Long.parseLong(f[i].substring(5));
                } else {
                    int eq = f[i].indexOf('=');
                    x.put(f[i].substring(0, eq), f[i].substring(eq + 1));
                }
            }
            return new Entry(layer, kind, path, mode, Integer.parseInt(owner[0]), Integer.parseInt(owner[1]),
                    Long.parseLong(t[0]), Integer.parseInt(t[1]), size, seed, sparse, target, x, opaque);
        }

        Entry withLayer(int l) {
            return new Entry(l, kind, path, mode, uid, gid, sec, nsec, size, seed, sparse, target, xattrs, opaque);
        }

        Entry withSize(long s, boolean sp) {
            return new Entry(layer, kind, path, mode, uid, gid, sec, nsec, s, seed, sp, target, xattrs, opaque);
        }

        Entry withoutXattrs() {
            return withXattrs(new TreeMap<>());
        }

        Entry withXattrs(SortedMap<String, String> x) {
            return new Entry(layer, kind, path, mode, uid, gid, sec, nsec, size, seed, sparse, target, x, opaque);
        }

        Entry withOpaque(boolean o) {
            return new Entry(layer, kind, path, mode, uid, gid, sec, nsec, size, seed, sparse, target, xattrs, o);
        }

        Entry withMode(int m, int u, int g) {
            return new Entry(layer, kind, path, m, u, g, sec, nsec, size, seed, sparse, target, xattrs, opaque);
        }
    }

    static String layerName(int layer) {
        return layer == 0 ? "U" : "L" + layer;
    }

    static String octal(int mode) {
        return String.format("%04o", mode);
    }

    static String time(long sec, long nsec) {
        return sec + "." + String.format("%09d", nsec);
    }

    String text() {
        StringBuilder b = new StringBuilder("lowers ").append(lowers);
        if (!aufs.isEmpty()) {
            b.append(" aufs ").append(String.join(",", new java.util.TreeSet<>(aufs).stream().map(String::valueOf)
                    .toList()));
        }
        b.append('\n');
        for (Entry e : entries) {
            b.append(e.text()).append('\n');
        }
        return b.toString();
    }

    static Stack parse(List<String> lines) {
        int lowers = -1;
        java.util.Set<Integer> aufs = java.util.Set.of();
        List<Entry> entries = new ArrayList<>();
        for (String line : lines) {
            String l = line.trim();
            if (l.isEmpty() || l.startsWith("#")) {
                continue;
            }
            if (l.startsWith("lowers ")) {
                String[] h = l.substring(7).trim().split(" +");
                lowers = Integer.parseInt(h[0]);
                if (h.length == 3 && h[1].equals("aufs")) {
                    aufs = java.util.Arrays.stream(h[2].split(",")).map(Integer::valueOf)
                            .collect(java.util.stream.Collectors.toUnmodifiableSet());
                } else if (h.length != 1) {
                    throw new IllegalArgumentException("expected 'lowers N' or 'lowers N aufs I,J': " + l);
                }
            } else {
                entries.add(Entry.parse(l));
            }
        }
        if (lowers < 1) {
            throw new IllegalArgumentException("a stack needs a 'lowers N' line");
        }
        return new Stack(lowers, List.copyOf(entries), aufs);
    }

    /** Every path the stack names (not "."), in order of first appearance. */
    List<String> paths() {
        List<String> out = new ArrayList<>();
        for (Entry e : entries) {
            if (!e.path.equals(".") && !out.contains(e.path)) {
                out.add(e.path);
            }
        }
        return out;
    }

    /** The entries with a path at or below a given one removed from one layer (and hard links into them). */
    Stack without(int layer, String path) {
        List<Entry> out = new ArrayList<>();
        for (Entry e : entries) {
            boolean under = e.layer == layer && (path.equals(".") || e.path.equals(path)
                    || e.path.startsWith(path + "/"));
            boolean linkInto = e.layer == layer && e.kind == Kind.HARD
                    && (path.equals(".") || e.target.equals(path) || e.target.startsWith(path + "/"));
            if (!under && !linkInto) {
                out.add(e);
            }
        }
        return new Stack(lowers, out, aufs);
    }

    /** This stack with one lower layer (1..lowers) taken out, the ones below it moving up. */
    Stack withoutLayer(int layer) {
        List<Entry> out = new ArrayList<>();
        for (Entry e : entries) {
            if (e.layer < layer) {
                out.add(e);
            } else if (e.layer > layer) {
                out.add(e.withLayer(e.layer - 1));
            }
        }
        java.util.Set<Integer> a = new java.util.HashSet<>();
        for (int l : aufs) {
            if (l != layer) {
                a.add(l < layer ? l : l - 1);
            }
        }
        return new Stack(lowers - 1, out, java.util.Set.copyOf(a));
    }

    static int defaultMode(Kind k) {
        return switch (k) {
            case DIR -> 0755;
            case FILE, FIFO -> 0644;
            case LINK -> 0777;
            default -> 0;
        };
    }

    Stack replace(int index, Entry e) {
        List<Entry> out = new ArrayList<>(entries);
        out.set(index, e);
        return new Stack(lowers, out, aufs);
    }

    /**
     * The layers that contribute a directory at a path, as overlayfs looks it up (component by component, top
     * down; a whiteout or a non-directory stops the search, an opaque directory stops it below itself). Empty
     * where the path is no directory in the merged view.
     */
    List<Integer> dirLayers(String path) {
        java.util.Map<String, Entry> byKey = new java.util.HashMap<>();
        for (Entry e : entries) {
            byKey.put(e.layer + ":" + e.path, e);
        }
        List<Integer> current = new ArrayList<>();
        for (int l = 0; l <= lowers; l++) {
            Entry e = byKey.get(l + ":.");
            if (e != null && e.kind == Kind.DIR) {
                current.add(l);
                if (e.opaque) {
                    break;
                }
            }
        }
        if (path.equals(".")) {
            return current;
        }
        String sofar = "";
        for (String c : path.split("/")) {
            sofar = sofar.isEmpty() ? c : sofar + "/" + c;
            List<Integer> next = new ArrayList<>();
            for (int l : current) {
                Entry e = byKey.get(l + ":" + sofar);
                if (e == null) {
                    continue;
                }
                if (e.kind != Kind.DIR) {
                    break; // a whiteout or a non-directory: nothing below it counts
                }
                next.add(l);
                if (e.opaque) {
                    break;
                }
            }
            current = next;
            if (current.isEmpty()) {
                break;
            }
        }
        return current;
    }

    /** The stack's weight for shrinking: entries, plus data, plus attributes that are not the defaults. */
    long weight() {
        long w = 0;
        for (Entry e : entries) {
            w += 10 + e.xattrs.size() + (e.opaque ? 1 : 0) + (e.sparse ? 1 : 0) + Math.min(e.size, 1 << 20) / 256
                    + (e.uid != 0 || e.gid != 0 ? 1 : 0) + (e.mode != defaultMode(e.kind) ? 1 : 0);
        }
        return w + lowers + aufs.size();
    }

    // ---- writing the layers ----

    /**
     * Writes the stack: layer i of the stack below {@code roots[i]} (upper first, then the lowers); for layerfs's
     * side ({@code aufsSide}) the {@link #aufs} lower layers in AUFS form.
     */
    void materialize(List<Path> roots, boolean aufsSide) {
        for (int layer = 0; layer <= lowers; layer++) {
            boolean aufsForm = aufsSide && layer > 0 && aufs.contains(layer);
            eachEntry(roots, layer, (e, dir, leaf, root, seqDir) -> write(e, dir, leaf, root, seqDir, aufsForm));
        }
    }

    /**
     * Rewrites the {@link #aufs} lower layers of layerfs's side (written by {@code materialize(roots, true)}) in
     * place into the kernel's dialect: each {@code .wh.NAME} becomes a character device 0/0 NAME, each
     * {@code .wh..wh..opq} the trusted.overlay.opaque xattr of its directory, and the directories get their times
     * back. Every other object keeps its inode, so origin records and the index that layerfs wrote against these
     * lowers stay valid: the kernel's cross-mount of layerfs's upper layer then reads the very lowers layerfs
     * wrote against, as index=on requires.
     */
    void toKernelForm(List<Path> roots) {
        for (int layer = 1; layer <= lowers; layer++) {
            if (aufs.contains(layer)) {
                eachEntry(roots, layer, (e, dir, leaf, root, seqDir) -> toKernelForm(e, dir, leaf));
            }
        }
    }

    /** One entry of an AUFS-form layer in the kernel's form: a whiteout, or an opaque directory's marker. */
    private static void toKernelForm(Entry e, int dir, String leaf) {
        if (e.kind == Kind.WH) {
            check(Sys.C.unlinkat(dir, ".wh." + leaf, 0), "unlink .wh.", ByteNames.text(leaf));
            check(Sys.C.mknodat(dir, leaf, Linux.S_IFCHR, 0), "whiteout", ByteNames.text(leaf));
        } else if (e.kind == Kind.DIR && e.opaque) {
            int dfd = Sys.openDirectory(dir, leaf);
            check(dfd, "open", ByteNames.text(leaf));
            try {
                check(Sys.C.unlinkat(dfd, ".wh..wh..opq", 0), "unlink .wh..wh..opq in", ByteNames.text(leaf));
            } finally {
                Sys.close(dfd);
            }
            check(Sys.C.lsetxattr(Sys.fdPath(dir) + "/" + leaf, "trusted.overlay.opaque", new byte[] {'y'}, 1, 0),
                    "opaque", ByteNames.text(leaf));
        }
    }

    /**
     * What {@link #eachEntry} does with an entry, given its parent directory and last name, the layer's root and
     * the sequence's directory name.
     */
    @FunctionalInterface
    private interface EntryCall {
        void call(Entry e, int dir, String leaf, int root, String seqDir);
    }

    /**
     * Walks the entries of one layer below {@code roots[layer]}, in the stack's order, each relative to its open
     * parent directory, so that paths deeper than PATH_MAX from the layer's own path, and any bytes, can be
     * reached; then sets the directories' attributes, last and deepest first, since their times must not change
     * after they are set. The entries are relative to the sequence's directory, "." itself, which the first entry
     * of a layer being written makes.
     */
    private void eachEntry(List<Path> roots, int layer, EntryCall call) {
        int root = Sys.C.openat(Linux.AT_FDCWD, roots.get(layer).getParent().toString(), Linux.O_PATH
                | Linux.O_DIRECTORY | Linux.O_CLOEXEC, 0);
        check(root, "open", roots.get(layer).getParent().toString());
        String seqDir = roots.get(layer).getFileName().toString();
        try {
            List<Entry> dirs = new ArrayList<>();
            for (Entry e : entries) {
                if (e.layer != layer) {
                    continue;
                }
                withParent(root, pathIn(seqDir, e), (dir, leaf) -> call.call(e, dir, leaf, root, seqDir));
                if (e.kind == Kind.DIR) {
                    dirs.add(e);
                }
            }
            Collections.reverse(dirs);
            for (Entry d : dirs) {
                withParent(root, pathIn(seqDir, d), (dir, leaf) -> attributes(d, dir, leaf));
            }
        } finally {
            Sys.close(root);
        }
    }

    /** An entry's path as a byte string relative to the layer's parent directory. */
    private static String pathIn(String seqDir, Entry e) {
        return e.path.equals(".") ? seqDir : seqDir + "/" + ByteNames.bytes(e.path);
    }

    @FunctionalInterface
    interface AtCall {
        void call(int dirfd, String name);
    }

    /**
     * Runs a call on the parent directory of a path (a byte string relative to {@code root}), opened one component
     * at a time, and the path's last component.
     */
    static void withParent(int root, String path, AtCall call) {
        int slash = path.lastIndexOf('/');
        int dir = slash < 0 ? root : Sys.openDirectory(root, path.substring(0, slash));
        check(dir, "open parent of", ByteNames.text(path));
        try {
            call.call(dir, path.substring(slash + 1));
        } finally {
            if (dir != root) {
                Sys.close(dir);
            }
        }
    }

    private static void write(Entry e, int dir, String leaf, int root, String seqDir, boolean aufsForm) {
        String s = ByteNames.text(leaf);
        String xattrPath = Sys.fdPath(dir) + "/" + leaf;
        switch (e.kind) {
            case DIR -> {
                check(Sys.C.mkdirat(dir, leaf, 0700), "mkdir", s);
                if (e.opaque && aufsForm) {
                    int dfd = Sys.openDirectory(dir, leaf);
                    check(dfd, "open", s);
                    int f = Sys.C.openat(dfd, ".wh..wh..opq", Linux.O_WRONLY | Linux.O_CREAT | Linux.O_EXCL
                            | Linux.O_CLOEXEC, 0644);
                    Sys.close(dfd);
                    check(f, "create .wh..wh..opq in", s);
                    Sys.close(f);
                } else if (e.opaque) {
                    check(Sys.C.lsetxattr(xattrPath, "trusted.overlay.opaque", new byte[] {'y'}, 1, 0), "opaque", s);
                }
                xattrs(e, xattrPath);
            }
            case FILE -> {
                int fd = Sys.C.openat(dir, leaf, Linux.O_WRONLY | Linux.O_CREAT | Linux.O_EXCL | Linux.O_CLOEXEC,
                        0600);
                check(fd, "create", s);
                try {
                    Content.write(fd, e.size, e.seed, e.sparse);
                } finally {
                    Sys.close(fd);
                }
                xattrs(e, xattrPath);
                attributes(e, dir, leaf);
            }
            case LINK -> {
                check(Sys.C.symlinkat(ByteNames.bytes(e.target), dir, leaf), "symlink", s);
                attributes(e, dir, leaf);
            }
            case HARD -> check(Sys.C.linkat(root, seqDir + "/" + ByteNames.bytes(e.target), dir, leaf, 0), "link", s);
            case FIFO -> {
                check(Sys.C.mknodat(dir, leaf, Linux.S_IFIFO | 0600, 0), "mkfifo", s);
                attributes(e, dir, leaf);
            }
            case WH -> {
                if (aufsForm) {
                    int f = Sys.C.openat(dir, ".wh." + leaf, Linux.O_WRONLY | Linux.O_CREAT | Linux.O_EXCL
                            | Linux.O_CLOEXEC, 0644);
                    check(f, "create .wh.", s);
                    Sys.close(f);
                } else {
                    check(Sys.C.mknodat(dir, leaf, Linux.S_IFCHR, 0), "whiteout", s);
                }
            }
            default -> throw new IllegalStateException();
        }
    }

    private static void xattrs(Entry e, String path) {
        e.xattrs.forEach((k, v) -> {
            String b = ByteNames.bytes(v);
            check(Sys.C.lsetxattr(path, ByteNames.bytes(k), b.getBytes(StandardCharsets.ISO_8859_1), b.length(), 0),
                    "setxattr " + k, path);
        });
    }

    private static void attributes(Entry e, int dir, String leaf) {
        String s = ByteNames.text(leaf);
        check(Sys.C.fchownat(dir, leaf, e.uid, e.gid, Linux.AT_SYMLINK_NOFOLLOW), "chown", s);
        if (e.kind != Kind.LINK) {
            check(Sys.C.fchmodat(dir, leaf, e.mode, 0), "chmod", s);
        }
        long[] t = {e.sec, e.nsec, e.sec, e.nsec};
        check(Sys.C.utimensat(dir, leaf, t, Linux.AT_SYMLINK_NOFOLLOW), "utimens", s);
    }

    private static void check(int rc, String op, String path) {
        if (rc < 0) {
            throw new IllegalStateException(op + " " + path + ": " + Sys.errName(rc == -1 ? Sys.errno() : -rc));
        }
    }

    /** File contents: a function of (size, seed, sparse), so a stack needs no data of its own. */
    static final class Content {
        private Content() {}

        static void write(int fd, long size, long seed, boolean sparse) {
            SplittableRandom r = new SplittableRandom(seed);
            if (!sparse) {
                byte[] buf = new byte[(int) Math.min(size, 65536)];
                long done = 0;
                while (done < size) {
                    int n = (int) Math.min(buf.length, size - done);
                    r.nextBytes(buf);
                    put(fd, n == buf.length ? buf : java.util.Arrays.copyOf(buf, n), done);
                    done += n;
                }
                return;
            }
            int chunks = 1 + r.nextInt(3);
            long end = 0;
            for (int i = 0; i < chunks && size > 0; i++) {
                long off = (r.nextLong(Math.max(1, size / 4096))) * 4096;
                int len = (int) Math.min(4096L * (1 + r.nextInt(3)), size - off);
                byte[] buf = new byte[Math.max(0, len)];
                r.nextBytes(buf);
                put(fd, buf, off);
                end = Math.max(end, off + buf.length);
            }
            // The file ends at size with a zero byte written there (its last block is data, not a hole).
            if (end < size) {
                put(fd, new byte[1], size - 1);
            }
        }

        private static void put(int fd, byte[] data, long offset) {
            if (data.length > 0 && Sys.pwrite(fd, data, 0, offset) != data.length) {
                throw new IllegalStateException("short write to fd " + fd + ": " + Sys.errName(Sys.errno()));
            }
        }
    }

    /** Deletes a directory tree of any depth and names, one component at a time (nothing is followed). */
    static void deleteTree(Path root) {
        int parent = Sys.C.openat(Linux.AT_FDCWD, root.getParent().toString(), Linux.O_PATH | Linux.O_DIRECTORY
                | Linux.O_CLOEXEC, 0);
        if (parent < 0) {
            return;
        }
        try {
            delete(parent, root.getFileName().toString());
        } finally {
            Sys.close(parent);
        }
    }

    private static void delete(int dir, String name) {
        int[] e = new int[1];
        Stat st = Sys.lstat(dir, name, e);
        if (st == null) {
            return;
        }
        if (st.isDirectory()) {
            int fd = Sys.openDirectory(dir, name);
            if (fd >= 0) {
                try {
                    List<RawDirent> list = Sys.readdir(fd, "", e);
                    for (RawDirent d : list == null ? List.<RawDirent>of() : list) {
                        delete(fd, d.name());
                    }
                } finally {
                    Sys.close(fd);
                }
            }
        }
        int rc = Sys.rc(Sys.C.unlinkat(dir, name, st.isDirectory() ? Linux.AT_REMOVEDIR : 0));
        if (rc < 0) {
            throw new IllegalStateException("cannot delete " + ByteNames.text(name) + ": " + Sys.errName(-rc));
        }
    }
}
