package dev.layerfs.core.testing;

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
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A fingerprint of a directory tree, one line per object: name, type, mode, uid/gid, size, mtime (ns), rdev,
 * symbolic link target, every xattr (trusted.* too) and a SHA-256 of regular files' content. Taking one changes
 * nothing, not even an atime: files and directories are read with O_NOATIME and symbolic links never followed.
 * Two snapshots {@link #diff} into a readable list of what changed. Names are bytes (keys are byte strings,
 * shown escaped where they are not UTF-8).
 */
public final class TreeSnapshot {
    private final Path root;
    private final Map<String, String> objects;

    private TreeSnapshot(Path root, Map<String, String> objects) {
        this.root = root;
        this.objects = objects;
    }

    public static TreeSnapshot of(Path root) {
        Map<String, String> objects = new TreeMap<>();
        try {
            walk(ByteString.ofPath(root).latin1(), "", objects);
        } catch (FsException e) {
            throw new UncheckedIOException("cannot snapshot " + root, e);
        }
        return new TreeSnapshot(root, objects);
    }

    public Path root() {
        return root;
    }

    /** Object path ("." for the root) to its fingerprint line. */
    public Map<String, String> objects() {
        return objects;
    }

    /** What differs from a later snapshot of the same tree; empty where nothing changed. */
    public List<String> diff(TreeSnapshot after) {
        List<String> out = new ArrayList<>();
        TreeSet<String> names = new TreeSet<>(objects.keySet());
        names.addAll(after.objects.keySet());
        for (String n : names) {
            String a = objects.get(n);
            String b = after.objects.get(n);
            String shown = ByteString.display(n);
            if (a == null) {
                out.add("created " + shown + ": " + b);
            } else if (b == null) {
                out.add("removed " + shown + ": " + a);
            } else if (!a.equals(b)) {
                out.add("changed " + shown + ":\n    before " + a + "\n    after  " + b);
            }
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TreeSnapshot s && s.objects.equals(objects);
    }

    @Override
    public int hashCode() {
        return Objects.hash(objects);
    }

    private static void walk(String base, String rel, Map<String, String> out) throws FsException {
        Syscalls sys = Syscalls.get();
        String abs = rel.isEmpty() ? base : base + "/" + rel;
        Stat st = sys.lstat(Linux.AT_FDCWD, abs);
        StringBuilder line = new StringBuilder();
        line.append(String.format("type=%o mode=%o uid=%d gid=%d size=%d mtime=%d.%09d", st.type(),
                st.permissions(), st.uid(), st.gid(), st.isDirectory() ? 0 : st.size(), st.mtime().sec(),
                st.mtime().nsec()));
        if (st.type() == Linux.S_IFCHR || st.type() == Linux.S_IFBLK) {
            line.append(" rdev=").append(Long.toHexString(st.rdev()));
        }
        if (st.isSymlink()) {
            line.append(" target=").append(ByteString.display(sys.readlinkat(Linux.AT_FDCWD, abs)));
        }
        if (st.isRegularFile()) {
            line.append(" sha256=").append(contentHash(abs));
        }
        List<String> xattrs = new ArrayList<>(sys.llistxattr(Linux.AT_FDCWD, abs));
        xattrs.sort(null);
        for (String x : xattrs) {
            byte[] v = sys.lgetxattr(Linux.AT_FDCWD, abs, x);
            line.append(' ').append(ByteString.display(x)).append('=').append(v == null ? "(gone)" : HexFormat.of().formatHex(v));
        }
        out.put(rel.isEmpty() ? "." : rel, line.toString());
        if (st.isDirectory()) {
            for (String name : names(abs)) {
                walk(base, rel.isEmpty() ? name : rel + "/" + name, out);
            }
        }
    }

    private static String contentHash(String abs) throws FsException {
        Syscalls sys = Syscalls.get();
        int fd = sys.openNoAtime(Linux.AT_FDCWD, abs, Linux.O_RDONLY | Linux.O_NOFOLLOW);
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            long off = 0;
            int n;
            while ((n = sys.pread(fd, buf, buf.length, off)) > 0) {
                md.update(buf, 0, n);
                off += n;
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        } finally {
            sys.close(fd);
        }
    }

    private static List<String> names(String abs) throws FsException {
        List<String> names = new ArrayList<>();
        for (RawDirent d : Syscalls.get().readdir(Linux.AT_FDCWD, abs)) {
            names.add(d.name());
        }
        names.sort(null);
        return names;
    }
}
