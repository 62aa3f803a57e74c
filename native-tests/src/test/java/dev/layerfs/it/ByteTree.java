package dev.layerfs.it;

import dev.layerfs.core.bytes.ByteString;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.RawDirent;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.Syscalls;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * A tree read byte for byte (java.nio decodes names, so two names that are not UTF-8 can look alike, and it cannot
 * reach objects deeper than PATH_MAX): each object by its path (escaped where it is not UTF-8) with its type,
 * mode, owner, size, link count, content hash, link target and the xattrs a filter keeps; and, separately, the
 * inode numbers, for tests that compare them as relations.
 */
final class ByteTree {
    private static final Syscalls SYS = Syscalls.get();

    private final SortedMap<String, String> objects = new TreeMap<>();
    private final SortedMap<String, Long> inodes = new TreeMap<>();
    /** Per directory, each entry's d_ino. */
    private final SortedMap<String, Long> direntInodes = new TreeMap<>();

    private ByteTree() {}

    static ByteTree scan(Path root, Predicate<String> xattrs) {
        ByteTree t = new ByteTree();
        try {
            t.walk(ByteString.ofPath(root).latin1(), "", xattrs);
        } catch (FsException e) {
            throw new UncheckedIOException("cannot scan " + root, e);
        }
        return t;
    }

    /** Path (shown escaped) to a description of the object. */
    SortedMap<String, String> objects() {
        return objects;
    }

    /** Path (shown escaped) to st_ino. */
    SortedMap<String, Long> inodes() {
        return inodes;
    }

    /** Where a directory listing's d_ino differs from the st_ino of the same name: "path: d_ino X, st_ino Y". */
    List<String> dinoMismatches() {
        List<String> out = new ArrayList<>();
        direntInodes.forEach((path, dino) -> {
            Long ino = inodes.get(path);
            if (ino != null && !ino.equals(dino)) {
                out.add(path + ": d_ino " + dino + ", st_ino " + ino);
            }
        });
        return out;
    }

    /** What differs between two trees' objects, one line each; empty where they are the same. */
    static List<String> diff(Map<String, String> expected, Map<String, String> actual) {
        List<String> out = new ArrayList<>();
        TreeSet<String> paths = new TreeSet<>(expected.keySet());
        paths.addAll(actual.keySet());
        for (String p : paths) {
            String e = expected.get(p);
            String a = actual.get(p);
            if (e == null || a == null || !e.equals(a)) {
                out.add(p + ": expected " + e + ", got " + a);
            }
        }
        return out;
    }

    private void walk(String base, String rel, Predicate<String> xattrFilter) throws FsException {
        String abs = rel.isEmpty() ? base : base + "/" + rel;
        Stat st = SYS.lstat(Linux.AT_FDCWD, abs);
        String shown = rel.isEmpty() ? "." : ByteString.display(rel);
        // The kernel makes whiteouts hard links of one inode: their link count says nothing.
        boolean whiteout = st.isCharDevice() && st.rdev() == 0;
        StringBuilder d = new StringBuilder(String.format("type=%o mode=%o owner=%d:%d nlink=%d", st.type(),
                st.permissions(), st.uid(), st.gid(), st.isDirectory() || whiteout ? 0 : st.nlink()));
        if (st.isRegularFile()) {
            d.append(" size=").append(st.size()).append(" sha256=").append(hash(abs));
        }
        if (st.isSymlink()) {
            d.append(" target=").append(ByteString.display(SYS.readlinkat(Linux.AT_FDCWD, abs)));
        }
        if (st.type() == Linux.S_IFCHR || st.type() == Linux.S_IFBLK) {
            d.append(" rdev=").append(Long.toHexString(st.rdev()));
        }
        List<String> names = new ArrayList<>(SYS.llistxattr(Linux.AT_FDCWD, abs));
        names.sort(null);
        for (String x : names) {
            if (xattrFilter.test(x)) {
                byte[] v = SYS.lgetxattr(Linux.AT_FDCWD, abs, x);
                d.append(' ').append(ByteString.display(x)).append('=')
                        .append(v == null ? "(gone)" : HexFormat.of().formatHex(v));
            }
        }
        objects.put(shown, d.toString());
        inodes.put(shown, st.ino());
        if (st.isDirectory()) {
            for (RawDirent e : SYS.readdir(Linux.AT_FDCWD, abs)) {
                String child = rel.isEmpty() ? e.name() : rel + "/" + e.name();
                direntInodes.put(ByteString.display(child), e.ino());
                walk(base, child, xattrFilter);
            }
        }
    }

    private static String hash(String abs) throws FsException {
        int fd = SYS.openat(Linux.AT_FDCWD, abs, Linux.O_RDONLY | Linux.O_NOFOLLOW, 0);
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            int n;
            for (long off = 0; (n = SYS.pread(fd, buf, buf.length, off)) > 0; off += n) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest()).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        } finally {
            SYS.close(fd);
        }
    }
}
