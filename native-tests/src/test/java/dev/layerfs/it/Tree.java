package dev.layerfs.it;

import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.Syscalls;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * A snapshot of a directory tree, read with lstat (never following a link): per path its type, mode, owner, size,
 * content hash, link target, device numbers, chosen xattrs, link count and times; and a field-by-field diff.
 */
public final class Tree {
    private Tree() {}

    /** What can be compared. */
    public enum Field { TYPE, MODE, OWNER, SIZE, CONTENT, TARGET, RDEV, XATTRS, NLINK, MTIME, CTIME, INO }

    /** Type, mode, owner, size (not of directories), content, link target, device numbers and xattrs. */
    public static final Set<Field> STRUCTURE = EnumSet.of(Field.TYPE, Field.MODE, Field.OWNER, Field.SIZE,
            Field.CONTENT, Field.TARGET, Field.RDEV, Field.XATTRS);

    public static final Predicate<String> USER_XATTRS = n -> n.startsWith("user.");

    /** One object of the tree. */
    public record Node(String path, char type, int perms, int uid, int gid, long size, long nlink, long rdev,
            String sha256, String target, SortedMap<String, String> xattrs, String mtime, String ctime, long ino) {

        public String describe(Set<Field> fields) {
            if (isWhiteout() && fields.contains(Field.TYPE)) {
                // Any character device 0/0 is a whiteout: its mode, owner and times carry no meaning (the kernel
                // itself may keep an older whiteout's mode where it renames over one).
                return "whiteout";
            }
            StringBuilder b = new StringBuilder();
            if (fields.contains(Field.TYPE)) {
                b.append(type).append(' ');
            }
            if (fields.contains(Field.MODE)) {
                b.append(String.format("%04o ", perms));
            }
            if (fields.contains(Field.OWNER)) {
                b.append(uid).append(':').append(gid).append(' ');
            }
            if (fields.contains(Field.SIZE) && type != 'd') {
                b.append("size=").append(size).append(' ');
            }
            if (fields.contains(Field.CONTENT) && sha256 != null) {
                b.append("sha=").append(sha256, 0, 12).append(' ');
            }
            if (fields.contains(Field.TARGET) && target != null) {
                b.append("-> ").append(target).append(' ');
            }
            if (fields.contains(Field.RDEV) && (type == 'c' || type == 'b')) {
                b.append("dev=").append(major(rdev)).append(',').append(minor(rdev)).append(' ');
            }
            if (fields.contains(Field.XATTRS) && !xattrs.isEmpty()) {
                b.append("xattrs=").append(xattrs).append(' ');
            }
            if (fields.contains(Field.NLINK)) {
                b.append("nlink=").append(nlink).append(' ');
            }
            if (fields.contains(Field.MTIME)) {
                b.append("mtime=").append(mtime).append(' ');
            }
            if (fields.contains(Field.CTIME)) {
                b.append("ctime=").append(ctime).append(' ');
            }
            if (fields.contains(Field.INO)) {
                b.append("ino=").append(ino).append(' ');
            }
            return b.toString().trim();
        }

        public boolean isWhiteout() {
            return type == 'c' && rdev == 0;
        }
    }

    public static long major(long rdev) {
        return ((rdev >>> 8) & 0xfff) | ((rdev >>> 32) & ~0xfffL);
    }

    public static long minor(long rdev) {
        return (rdev & 0xff) | ((rdev >>> 12) & ~0xffL);
    }

    /** Every object under root (root itself as "."), keyed by relative path, with the xattrs a filter keeps. */
    public static SortedMap<String, Node> scan(Path root, Predicate<String> xattrFilter) {
        SortedMap<String, Node> out = new TreeMap<>();
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                    add(dir);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    add(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException exc) throws IOException {
                    throw exc;
                }

                private void add(Path p) throws IOException {
                    String rel = root.relativize(p).toString();
                    out.put(rel.isEmpty() ? "." : rel, node(rel.isEmpty() ? "." : rel, p, xattrFilter));
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** One object, read with lstat. */
    public static Node node(String rel, Path p, Predicate<String> xattrFilter) throws IOException {
        Syscalls sys = Syscalls.get();
        Stat st = sys.lstat(Linux.AT_FDCWD, p.toString());
        char type = switch (st.type()) {
            case Linux.S_IFREG -> 'f';
            case Linux.S_IFDIR -> 'd';
            case Linux.S_IFLNK -> 'l';
            case Linux.S_IFIFO -> 'p';
            case Linux.S_IFCHR -> 'c';
            case Linux.S_IFBLK -> 'b';
            case Linux.S_IFSOCK -> 's';
            default -> '?';
        };
        String sha = type == 'f' ? sha256(p) : null;
        String target = type == 'l' ? sys.readlinkat(Linux.AT_FDCWD, p.toString()) : null;
        SortedMap<String, String> xattrs = new TreeMap<>();
        for (String name : sys.llistxattr(Linux.AT_FDCWD, p.toString())) {
            if (xattrFilter.test(name)) {
                byte[] v = sys.lgetxattr(Linux.AT_FDCWD, p.toString(), name);
                xattrs.put(name, v == null ? "<gone>" : printable(v));
            }
        }
        return new Node(rel, type, st.mode() & 07777, st.uid(), st.gid(), st.size(), st.nlink(), st.rdev(), sha,
                target, xattrs, time(st.mtime()), time(st.ctime()), st.ino());
    }

    private static String time(dev.layerfs.core.nativeio.Timespec t) {
        return t.sec() + "." + String.format("%09d", t.nsec());
    }

    static String printable(byte[] v) {
        for (byte b : v) {
            if (b < 0x20 || b > 0x7e) {
                return "0x" + HexFormat.of().formatHex(v);
            }
        }
        return new String(v, StandardCharsets.US_ASCII);
    }

    public static String sha256(Path p) throws IOException {
        try (InputStream in = Files.newInputStream(p)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[65536];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The paths and fields in which two snapshots differ, one line each; empty when they agree. */
    public static List<String> diff(SortedMap<String, Node> expected, SortedMap<String, Node> actual,
            Set<Field> fields) {
        List<String> out = new ArrayList<>();
        Set<String> all = new TreeSet<>(expected.keySet());
        all.addAll(actual.keySet());
        for (String path : all) {
            Node e = expected.get(path);
            Node a = actual.get(path);
            if (e == null) {
                out.add("+ " + path + ": " + a.describe(fields) + " (only in the second tree)");
            } else if (a == null) {
                out.add("- " + path + ": " + e.describe(fields) + " (missing from the second tree)");
            } else {
                String de = e.describe(fields);
                String da = a.describe(fields);
                if (!de.equals(da)) {
                    out.add("! " + path + ":\n    expected " + de + "\n    actual   " + da);
                }
            }
        }
        return out;
    }

    /** Fails with a readable list of the differences. */
    public static void assertSame(String what, SortedMap<String, Node> expected, SortedMap<String, Node> actual,
            Set<Field> fields) {
        List<String> d = diff(expected, actual, fields);
        if (!d.isEmpty()) {
            throw new AssertionError(what + " differ in " + d.size() + " place(s):\n" + String.join("\n", d));
        }
    }
}
