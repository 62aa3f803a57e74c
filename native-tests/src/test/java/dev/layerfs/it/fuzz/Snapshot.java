package dev.layerfs.it.fuzz;

import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.RawDirent;
import dev.layerfs.core.nativeio.Stat;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * A tree as the fuzzer compares it: per path (relative, the root is "."), the fields type, mode, owner, size (not
 * of directories), nlink, content digest, link target, xattrs and mtime (exact where old, "new" where the run
 * set it). Read as root with lstat, never following a link. A name that readdir lists but lstat does not find
 * (the kernel's whiteouts in a directory that is not merged) is a "ghost".
 */
final class Snapshot {
    static final String GHOST = "ghost";

    private Snapshot() {}

    /** A merged view (through a mount). */
    static SortedMap<String, Map<String, String>> merged(String root, long newSince) {
        return scan(root, newSince, false, n -> true);
    }

    /** An upper layer, with the xattrs that are no kernel bookkeeping ({@link Allowed#KERNEL_BOOKKEEPING_XATTRS}). */
    static SortedMap<String, Map<String, String>> upper(String root, long newSince) {
        return scan(root, newSince, true, Allowed::comparedInUpper);
    }

    private static SortedMap<String, Map<String, String>> scan(String root, long newSince, boolean upper,
            Predicate<String> xattrs) {
        SortedMap<String, Map<String, String>> out = new TreeMap<>();
        int fd = Sys.C.openat(Linux.AT_FDCWD, root, Linux.O_PATH | Linux.O_DIRECTORY | Linux.O_CLOEXEC, 0);
        if (fd < 0) {
            return out; // no such directory (an upper layer without the sequence's directory)
        }
        try {
            walk(new At(fd, ""), ".", -1, newSince, upper, xattrs, out);
        } finally {
            Sys.close(fd);
        }
        return out;
    }

    /**
     * Where an object is: a name (a byte string) in an open directory, or the directory itself where the name is
     * empty. Trees are read this way, one component at a time, so that a path of any length (deeper than PATH_MAX
     * from the layer's or the mount's own path) and any bytes can be read.
     */
    record At(int dirfd, String name) {
        /** The path by which the xattr calls reach it without resolving the directory again. */
        String xattrPath() {
            return Sys.fdPath(dirfd) + (name.isEmpty() ? "" : "/" + name);
        }
    }

    /**
     * One object and, for a directory, everything below it. {@code dino}: the inode number its parent's listing
     * gave (-1 for the root): a node where it is not st_ino says so ({@link Allowed#INODE_NUMBERS}).
     */
    private static void walk(At at, String rel, long dino, long newSince, boolean upper, Predicate<String> xattrs,
            SortedMap<String, Map<String, String>> out) {
        int[] e = new int[1];
        Stat st = Sys.lstat(at.dirfd(), at.name(), e);
        if (st == null) {
            Map<String, String> ghost = new LinkedHashMap<>();
            ghost.put("type", e[0] == 2 ? GHOST : "lstat " + Sys.errName(e[0]));
            out.put(rel, ghost);
            return;
        }
        Map<String, String> node = node(at, st, newSince, upper, xattrs);
        if (dino >= 0 && dino != st.ino() && !node.get("type").equals("whiteout")) {
            node.put("dino", "not st_ino");
        }
        out.put(rel, node);
        if (!st.isDirectory()) {
            return;
        }
        int dir = at.name().isEmpty() ? at.dirfd() : Sys.rc(Sys.C.openat(at.dirfd(), at.name(), Linux.O_PATH
                | Linux.O_DIRECTORY | Linux.O_NOFOLLOW | Linux.O_CLOEXEC, 0));
        List<RawDirent> list = dir < 0 ? null : Sys.readdir(dir, "", e);
        try {
            if (list == null) {
                node.put("readdir", Sys.errName(dir < 0 ? -dir : e[0]));
                return;
            }
            List<RawDirent> sorted = new ArrayList<>(list);
            sorted.sort(java.util.Comparator.comparing(RawDirent::name));
            for (RawDirent d : sorted) {
                String child = ByteNames.text(d.name());
                walk(new At(dir, d.name()), rel.equals(".") ? child : rel + "/" + child, d.ino(), newSince, upper,
                        xattrs, out);
            }
        } finally {
            if (dir != at.dirfd()) {
                Sys.close(dir);
            }
        }
    }

    private static Map<String, String> node(At at, Stat st, long newSince, boolean upper,
            Predicate<String> xattrFilter) {
        Map<String, String> f = new LinkedHashMap<>();
        if (upper && st.isCharDevice() && st.rdev() == 0) {
            f.put("type", "whiteout"); // Allowed.WHITEOUT_FORM: mode, owner, links and times of a whiteout
            return f;
        }
        f.put("type", Sys.typeName(st.mode()));
        f.put("mode", Stack.octal(st.permissions()));
        f.put("owner", st.uid() + ":" + st.gid());
        if (!st.isDirectory()) {
            f.put("size", Long.toString(st.size()));
        }
        if (!(upper && st.isDirectory())) {
            f.put("nlink", Long.toString(st.nlink()));
        }
        if (st.isRegularFile()) {
            f.put("content", content(at));
            if (upper && st.size() >= 131072) {
                // Holes stay holes at copy-up (Allowed.SPARSER_COPY_UP): a coarse test, extent blocks vary.
                f.put("holes", st.blocks() * 512 + 65536 < st.size() ? "sparse" : "dense");
            }
        }
        if (st.isSymlink()) {
            int[] e = new int[1];
            String t = Sys.readlink(at.dirfd(), at.name(), e);
            f.put("target", t == null ? Sys.errName(e[0]) : ByteNames.text(t));
        }
        if (st.isCharDevice() || st.type() == Linux.S_IFBLK) {
            f.put("rdev", Long.toString(st.rdev()));
        }
        f.put("xattrs", xattrs(at, xattrFilter));
        f.put("mtime", Exec.mtime(st, newSince));
        return f;
    }

    private static String content(At at) {
        int fd = Sys.C.openat(at.dirfd(), at.name(), Linux.O_RDONLY | Linux.O_NOFOLLOW | Linux.O_NONBLOCK
                | Linux.O_CLOEXEC, 0);
        if (fd < 0) {
            return "open " + Sys.errName(Sys.errno());
        }
        try {
            MessageDigest md = Exec.md5();
            byte[] buf = new byte[131072];
            long total = 0;
            while (true) {
                int n = Sys.pread(fd, buf, 0, buf.length, total);
                if (n < 0) {
                    return "read " + Sys.errName(-n) + " after " + total;
                }
                if (n == 0) {
                    break;
                }
                md.update(buf, 0, n);
                total += n;
            }
            return HexFormat.of().formatHex(md.digest()).substring(0, 12);
        } finally {
            Sys.close(fd);
        }
    }

    /** The xattrs (names and values in text form) that pass the filter, as "{name=value, ...}". */
    private static String xattrs(At at, Predicate<String> filter) {
        int[] e = new int[1];
        List<String> names = Sys.xattrNames(at.dirfd(), at.name(), e);
        if (names == null) {
            return "listxattr " + Sys.errName(e[0]);
        }
        String path = at.xattrPath();
        SortedMap<String, String> x = new TreeMap<>();
        for (String name : names) {
            if (!filter.test(name)) {
                continue;
            }
            byte[] v = new byte[65536];
            int n = Sys.rc(Sys.C.lgetxattr(path, name, v, v.length));
            x.put(ByteNames.text(name), n < 0 ? Sys.errName(-n) : ByteNames.text(v, 0, n));
        }
        return x.toString();
    }

    /** Every path below a directory with its ctime, size and mode: to see that nothing wrote a lower layer. */
    static SortedMap<String, String> fingerprint(String root) {
        SortedMap<String, String> out = new TreeMap<>();
        int fd = Sys.C.openat(Linux.AT_FDCWD, root, Linux.O_PATH | Linux.O_DIRECTORY | Linux.O_CLOEXEC, 0);
        if (fd < 0) {
            out.put(".", Sys.errName(Sys.errno()));
            return out;
        }
        try {
            fingerprint(new At(fd, ""), ".", out);
        } finally {
            Sys.close(fd);
        }
        return out;
    }

    private static void fingerprint(At at, String rel, SortedMap<String, String> out) {
        int[] e = new int[1];
        Stat st = Sys.lstat(at.dirfd(), at.name(), e);
        if (st == null) {
            out.put(rel, Sys.errName(e[0]));
            return;
        }
        out.put(rel, Stack.time(st.ctime().sec(), st.ctime().nsec()) + " " + st.size() + " "
                + Integer.toOctalString(st.mode()) + " " + Stack.time(st.mtime().sec(), st.mtime().nsec()));
        if (!st.isDirectory()) {
            return;
        }
        int dir = at.name().isEmpty() ? at.dirfd() : Sys.rc(Sys.C.openat(at.dirfd(), at.name(), Linux.O_PATH
                | Linux.O_DIRECTORY | Linux.O_NOFOLLOW | Linux.O_CLOEXEC, 0));
        try {
            List<RawDirent> list = dir < 0 ? null : Sys.readdir(dir, "", e);
            if (list != null) {
                for (RawDirent d : list) {
                    String child = ByteNames.text(d.name());
                    fingerprint(new At(dir, d.name()), rel.equals(".") ? child : rel + "/" + child, out);
                }
            }
        } finally {
            if (dir != at.dirfd()) {
                Sys.close(dir);
            }
        }
    }
}
