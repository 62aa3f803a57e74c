package dev.layerfs.it.fuzz;

import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.RawDirent;
import dev.layerfs.core.nativeio.Stat;
import java.nio.charset.StandardCharsets;
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
        int[] e = new int[1];
        if (Sys.lstat(Linux.AT_FDCWD, root, e) == null) {
            return out; // no such directory (an upper layer without the sequence's directory)
        }
        walk(root, ".", newSince, upper, xattrs, out);
        return out;
    }

    private static void walk(String root, String rel, long newSince, boolean upper, Predicate<String> xattrs,
            SortedMap<String, Map<String, String>> out) {
        String abs = rel.equals(".") ? root : root + "/" + rel;
        int[] e = new int[1];
        Stat st = Sys.lstat(Linux.AT_FDCWD, abs, e);
        if (st == null) {
            Map<String, String> ghost = new LinkedHashMap<>();
            ghost.put("type", e[0] == 2 ? GHOST : "lstat " + Sys.errName(e[0]));
            out.put(rel, ghost);
            return;
        }
        out.put(rel, node(abs, st, newSince, upper, xattrs));
        if (st.isDirectory()) {
            List<RawDirent> list = Sys.readdir(Linux.AT_FDCWD, abs, e);
            if (list == null) {
                out.get(rel).put("readdir", Sys.errName(e[0]));
                return;
            }
            List<String> names = new ArrayList<>();
            for (RawDirent d : list) {
                names.add(d.name());
            }
            names.sort(null);
            for (String n : names) {
                walk(root, rel.equals(".") ? n : rel + "/" + n, newSince, upper, xattrs, out);
            }
        }
    }

    private static Map<String, String> node(String abs, Stat st, long newSince, boolean upper,
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
            f.put("content", content(abs));
            if (upper && st.size() >= 131072) {
                // Holes stay holes at copy-up (Allowed.SPARSER_COPY_UP): a coarse test, extent blocks vary.
                f.put("holes", st.blocks() * 512 + 65536 < st.size() ? "sparse" : "dense");
            }
        }
        if (st.isSymlink()) {
            int[] e = new int[1];
            String t = Sys.readlink(Linux.AT_FDCWD, abs, e);
            f.put("target", t == null ? Sys.errName(e[0]) : t);
        }
        if (st.isCharDevice() || st.type() == Linux.S_IFBLK) {
            f.put("rdev", Long.toString(st.rdev()));
        }
        f.put("xattrs", xattrs(abs, xattrFilter));
        f.put("mtime", Exec.mtime(st, newSince));
        return f;
    }

    private static String content(String abs) {
        int fd = Sys.C.openat(Linux.AT_FDCWD, abs, Linux.O_RDONLY | Linux.O_NOFOLLOW | Linux.O_NONBLOCK
                | Linux.O_CLOEXEC, 0);
        if (fd < 0) {
            return "open " + Sys.errName(Sys.errno());
        }
        try {
            MessageDigest md = Exec.md5();
            byte[] buf = new byte[131072];
            long total = 0;
            while (true) {
                int n = Sys.rc(Sys.C.pread(fd, buf, buf.length, total));
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

    private static String xattrs(String abs, Predicate<String> filter) {
        byte[] buf = new byte[65536];
        int len = Sys.rc(Sys.C.llistxattr(abs, buf, buf.length));
        if (len < 0) {
            return "listxattr " + Sys.errName(-len);
        }
        SortedMap<String, String> x = new TreeMap<>();
        int start = 0;
        for (int i = 0; i < len; i++) {
            if (buf[i] == 0) {
                String name = new String(buf, start, i - start, StandardCharsets.UTF_8);
                start = i + 1;
                if (name.isEmpty() || !filter.test(name)) {
                    continue;
                }
                byte[] v = new byte[65536];
                int n = Sys.rc(Sys.C.lgetxattr(abs, name, v, v.length));
                x.put(name, n < 0 ? Sys.errName(-n) : new String(v, 0, n, StandardCharsets.UTF_8));
            }
        }
        return x.toString();
    }

    /** Every path below a directory with its ctime, size and mode: to see that nothing wrote a lower layer. */
    static SortedMap<String, String> fingerprint(String root) {
        SortedMap<String, String> out = new TreeMap<>();
        fingerprint(root, ".", out);
        return out;
    }

    private static void fingerprint(String root, String rel, SortedMap<String, String> out) {
        String abs = rel.equals(".") ? root : root + "/" + rel;
        int[] e = new int[1];
        Stat st = Sys.lstat(Linux.AT_FDCWD, abs, e);
        if (st == null) {
            out.put(rel, Sys.errName(e[0]));
            return;
        }
        out.put(rel, Stack.time(st.ctime().sec(), st.ctime().nsec()) + " " + st.size() + " "
                + Integer.toOctalString(st.mode()) + " " + Stack.time(st.mtime().sec(), st.mtime().nsec()));
        if (st.isDirectory()) {
            List<RawDirent> list = Sys.readdir(Linux.AT_FDCWD, abs, e);
            if (list != null) {
                for (RawDirent d : list) {
                    fingerprint(root, rel.equals(".") ? d.name() : rel + "/" + d.name(), out);
                }
            }
        }
    }
}
