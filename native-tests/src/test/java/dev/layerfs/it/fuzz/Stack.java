package dev.layerfs.it.fuzz;

import dev.layerfs.core.nativeio.Linux;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
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
            return new Entry(layer, kind, path, mode, uid, gid, sec, nsec, size, seed, sparse, target,
                    new TreeMap<>(), opaque);
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
            List<Entry> dirs = new ArrayList<>();
            for (Entry e : entries) {
                if (e.layer != layer) {
                    continue;
                }
                Path p = e.path.equals(".") ? roots.get(layer) : roots.get(layer).resolve(e.path);
                try {
                    write(e, p, roots.get(layer), aufsForm);
                } catch (IOException ex) {
                    throw new UncheckedIOException("writing " + e.text(), ex);
                }
                if (e.kind == Kind.DIR) {
                    dirs.add(e);
                }
            }
            // Directories last, deepest first: their times must not change after they are set.
            Collections.reverse(dirs);
            for (Entry d : dirs) {
                Path p = d.path.equals(".") ? roots.get(layer) : roots.get(layer).resolve(d.path);
                attributes(d, p.toString());
            }
        }
    }

    private static void write(Entry e, Path p, Path layerRoot, boolean aufsForm) throws IOException {
        String s = p.toString();
        switch (e.kind) {
            case DIR -> {
                check(Sys.C.mkdirat(Linux.AT_FDCWD, s, 0700), "mkdir", s);
                if (e.opaque && aufsForm) {
                    Files.createFile(p.resolve(".wh..wh..opq"));
                } else if (e.opaque) {
                    check(Sys.C.lsetxattr(s, "trusted.overlay.opaque", new byte[] {'y'}, 1, 0), "opaque", s);
                }
                xattrs(e, s);
            }
            case FILE -> {
                try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                    Content.write(ch, e.size, e.seed, e.sparse);
                }
                xattrs(e, s);
                attributes(e, s);
            }
            case LINK -> {
                check(Sys.C.symlinkat(e.target, Linux.AT_FDCWD, s), "symlink", s);
                attributes(e, s);
            }
            case HARD -> check(Sys.C.linkat(Linux.AT_FDCWD, layerRoot.resolve(e.target).toString(),
                    Linux.AT_FDCWD, s, 0), "link", s);
            case FIFO -> {
                check(Sys.C.mknodat(Linux.AT_FDCWD, s, Linux.S_IFIFO | 0600, 0), "mkfifo", s);
                attributes(e, s);
            }
            case WH -> {
                if (aufsForm) {
                    Files.createFile(p.resolveSibling(".wh." + p.getFileName()));
                } else {
                    check(Sys.C.mknodat(Linux.AT_FDCWD, s, Linux.S_IFCHR, 0), "whiteout", s);
                }
            }
            default -> throw new IllegalStateException();
        }
    }

    private static void xattrs(Entry e, String s) {
        e.xattrs.forEach((k, v) -> {
            byte[] b = v.getBytes(StandardCharsets.UTF_8);
            check(Sys.C.lsetxattr(s, k, b, b.length, 0), "setxattr " + k, s);
        });
    }

    private static void attributes(Entry e, String s) {
        check(Sys.C.fchownat(Linux.AT_FDCWD, s, e.uid, e.gid, Linux.AT_SYMLINK_NOFOLLOW), "chown", s);
        if (e.kind != Kind.LINK) {
            check(Sys.C.fchmodat(Linux.AT_FDCWD, s, e.mode, 0), "chmod", s);
        }
        long[] t = {e.sec, e.nsec, e.sec, e.nsec};
        check(Sys.C.utimensat(Linux.AT_FDCWD, s, t, Linux.AT_SYMLINK_NOFOLLOW), "utimens", s);
    }

    private static void check(int rc, String op, String path) {
        if (rc < 0) {
            throw new IllegalStateException(op + " " + path + ": " + Sys.errName(Sys.errno()));
        }
    }

    /** File contents: a function of (size, seed, sparse), so a stack needs no data of its own. */
    static final class Content {
        private Content() {}

        static void write(FileChannel ch, long size, long seed, boolean sparse) throws IOException {
            SplittableRandom r = new SplittableRandom(seed);
            if (!sparse) {
                byte[] buf = new byte[(int) Math.min(size, 65536)];
                long done = 0;
                while (done < size) {
                    int n = (int) Math.min(buf.length, size - done);
                    r.nextBytes(buf);
                    ch.write(ByteBuffer.wrap(buf, 0, n), done);
                    done += n;
                }
                return;
            }
            int chunks = 1 + r.nextInt(3);
            for (int i = 0; i < chunks && size > 0; i++) {
                long off = (r.nextLong(Math.max(1, size / 4096))) * 4096;
                int len = (int) Math.min(4096L * (1 + r.nextInt(3)), size - off);
                byte[] buf = new byte[Math.max(0, len)];
                r.nextBytes(buf);
                ch.write(ByteBuffer.wrap(buf), off);
            }
            ch.truncate(size);
            if (ch.size() < size) {
                // FileChannel.truncate never grows a file.
                ch.write(ByteBuffer.wrap(new byte[1]), size - 1);
            }
        }
    }

    static void deleteTree(Path root) {
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (var walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
