package dev.layerfs.core.testing;

import dev.layerfs.core.error.FsException;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.Syscalls;
import dev.layerfs.core.nativeio.Timespec;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * One real layer directory, built and inspected concisely. Every builder method creates missing parent
 * directories (mode 0755) and returns a {@link Node} on which mode, owner, times and xattrs can be set:
 *
 * <pre>
 *   l1.file("a/b/f", "data").mode(0600).owner(1005, 1006).mtime(1100000000L, 987654321).xattr("user.x", "v");
 *   l1.whiteout("gone");                     // character device 0/0
 *   l1.opaqueDir("d", LayerTree.Opaque.AUFS);  // d/.wh..wh..opq
 * </pre>
 *
 * Times set through a node are remembered and put back by {@link #settle()} (which {@link OverlayFixture} calls
 * before opening an overlay), because creating entries later changes a directory's times. Call {@code owner}
 * before {@code xattr}: a chown drops {@code security.capability}. Paths are relative to the layer root.
 */
public final class LayerTree {
    /** The ways a directory can be marked opaque ("y"). */
    public enum Opaque {
        TRUSTED("trusted.overlay.opaque"),
        USER("user.overlay.opaque"),
        FUSE_OVERLAYFS("user.fuseoverlayfs.opaque"),
        /** A {@code .wh..wh..opq} file in the directory. */
        AUFS(null);

        private final String xattr;

        Opaque(String xattr) {
            this.xattr = xattr;
        }

        /** The xattr name, or null for the AUFS marker file. */
        public String xattr() {
            return xattr;
        }
    }

    /** The kernel's xattr whiteouts: the file's xattr and the parent's opaque xattr (set to "x"). */
    public enum XattrWhiteout {
        TRUSTED("trusted.overlay.whiteout", "trusted.overlay.opaque"),
        USER("user.overlay.whiteout", "user.overlay.opaque");

        private final String fileXattr;
        private final String dirXattr;

        XattrWhiteout(String fileXattr, String dirXattr) {
            this.fileXattr = fileXattr;
            this.dirXattr = dirXattr;
        }

        public String fileXattr() {
            return fileXattr;
        }

        public String dirXattr() {
            return dirXattr;
        }
    }

    public static final String AUFS_OPAQUE_MARKER = ".wh..wh..opq";

    private final Path root;
    private final Syscalls sys = Syscalls.get();
    private final Map<String, Timespec[]> pinnedTimes = new LinkedHashMap<>();

    public LayerTree(Path root) {
        this.root = root;
        try {
            Files.createDirectories(root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Path root() {
        return root;
    }

    public Path path(String rel) {
        return rel.isEmpty() ? root : root.resolve(rel);
    }

    private String abs(String rel) {
        return path(rel).toString();
    }

    // ---- building ----

    /** The existing object at {@code rel}, to adjust. */
    public Node at(String rel) {
        if (!exists(rel)) {
            throw new IllegalArgumentException("nothing at " + path(rel));
        }
        return new Node(rel);
    }

    /** A directory (and its parents), mode 0755 if it is new. */
    public Node dir(String rel) {
        mkdirs(rel);
        return new Node(rel);
    }

    /** A regular file with UTF-8 content, mode 0644. */
    public Node file(String rel, String content) {
        return file(rel, content.getBytes(StandardCharsets.UTF_8));
    }

    public Node file(String rel, byte[] content) {
        parentsOf(rel);
        try {
            Files.write(path(rel), content);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Node(rel).mode(0644);
    }

    public Node emptyFile(String rel) {
        return file(rel, new byte[0]);
    }

    /**
     * A sparse file of {@code size} bytes with 4 KiB of data ('D') at each offset and holes everywhere else.
     */
    public Node sparseFile(String rel, long size, long... dataOffsets) {
        parentsOf(rel);
        byte[] block = new byte[4096];
        Arrays.fill(block, (byte) 'D');
        try (RandomAccessFile f = new RandomAccessFile(path(rel).toFile(), "rw")) {
            f.setLength(0);
            for (long off : dataOffsets) {
                f.seek(off);
                f.write(block);
            }
            f.setLength(size);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Node(rel).mode(0644);
    }

    public Node symlink(String rel, String target) {
        parentsOf(rel);
        try {
            Files.createSymbolicLink(path(rel), Path.of(target));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Node(rel);
    }

    /** A hard link: {@code rel} becomes another name of {@code existing}. */
    public Node hardLink(String existing, String rel) {
        parentsOf(rel);
        try {
            Files.createLink(path(rel), path(existing));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Node(rel);
    }

    public Node fifo(String rel) {
        return node(rel, Linux.S_IFIFO | 0644, 0);
    }

    public Node socket(String rel) {
        return node(rel, Linux.S_IFSOCK | 0755, 0);
    }

    public Node charDevice(String rel, int major, int minor) {
        return node(rel, Linux.S_IFCHR | 0644, makedev(major, minor));
    }

    public Node blockDevice(String rel, int major, int minor) {
        return node(rel, Linux.S_IFBLK | 0644, makedev(major, minor));
    }

    /** The kernel's whiteout: a character device 0/0 with no permission bits. */
    public Node whiteout(String rel) {
        return node(rel, Linux.S_IFCHR, 0);
    }

    /** An AUFS whiteout: an empty {@code .wh.NAME} file next to where NAME would be. Returns the .wh. file. */
    public Node aufsWhiteout(String rel) {
        return emptyFile(sibling(rel, ".wh." + name(rel)));
    }

    /** A directory marked opaque in the given dialect. */
    public Node opaqueDir(String rel, Opaque how) {
        Node d = dir(rel);
        if (how == Opaque.AUFS) {
            emptyFile(child(rel, AUFS_OPAQUE_MARKER));
        } else {
            d.xattr(how.xattr(), "y");
        }
        return d;
    }

    /** A directory marked {@code opaque=x}: it may hold xattr whiteouts, and still merges with lower layers. */
    public Node xattrWhiteoutDir(String rel, XattrWhiteout how) {
        return dir(rel).xattr(how.dirXattr(), "x");
    }

    /** An empty regular file carrying the whiteout xattr (only a whiteout inside an {@code x} directory). */
    public Node xattrWhiteout(String rel, XattrWhiteout how) {
        return emptyFile(rel).xattr(how.fileXattr(), "y");
    }

    /**
     * Puts back every time set through a node since the last call (creating entries changes a directory's
     * mtime), then forgets them: a later call, say when a second overlay is opened, changes nothing the
     * engine wrote meanwhile.
     */
    public void settle() {
        pinnedTimes.forEach((rel, t) -> {
            try {
                sys.lutimensat(Linux.AT_FDCWD, abs(rel), t[0], t[1]);
            } catch (FsException e) {
                throw new UncheckedIOException(e);
            }
        });
        pinnedTimes.clear();
    }

    private Node node(String rel, int mode, long rdev) {
        parentsOf(rel);
        try {
            sys.mknodat(Linux.AT_FDCWD, abs(rel), mode, rdev);
            if ((mode & Linux.S_IFMT) != Linux.S_IFCHR || rdev != 0) {
                sys.fchmodat(Linux.AT_FDCWD, abs(rel), mode & Linux.PERMISSION_BITS);
            }
        } catch (FsException e) {
            throw new UncheckedIOException(e);
        }
        return new Node(rel);
    }

    private void parentsOf(String rel) {
        int slash = rel.lastIndexOf('/');
        if (slash > 0) {
            mkdirs(rel.substring(0, slash));
        }
    }

    private void mkdirs(String rel) {
        if (rel.isEmpty() || Files.isDirectory(path(rel), LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        parentsOf(rel);
        try {
            Files.createDirectory(path(rel));
            sys.fchmodat(Linux.AT_FDCWD, abs(rel), 0755);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** glibc's makedev. */
    public static long makedev(int major, int minor) {
        long ma = major & 0xffffffffL;
        long mi = minor & 0xffffffffL;
        return (mi & 0xff) | ((ma & 0xfff) << 8) | ((mi & ~0xffL) << 12) | ((ma & ~0xfffL) << 32);
    }

    private static String name(String rel) {
        return rel.substring(rel.lastIndexOf('/') + 1);
    }

    private static String sibling(String rel, String name) {
        int slash = rel.lastIndexOf('/');
        return slash < 0 ? name : rel.substring(0, slash + 1) + name;
    }

    private static String child(String dir, String name) {
        return dir.isEmpty() ? name : dir + "/" + name;
    }

    // ---- inspecting ----

    public boolean exists(String rel) {
        try {
            return sys.lstatIfExists(Linux.AT_FDCWD, abs(rel)) != null;
        } catch (FsException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** lstat of the real object. */
    public Stat stat(String rel) {
        try {
            return sys.lstat(Linux.AT_FDCWD, abs(rel));
        } catch (FsException e) {
            throw new UncheckedIOException(e);
        }
    }

    public String read(String rel) {
        return new String(bytes(rel), StandardCharsets.UTF_8);
    }

    public byte[] bytes(String rel) {
        try {
            return Files.readAllBytes(path(rel));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public String readlink(String rel) {
        try {
            return Files.readSymbolicLink(path(rel)).toString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** An xattr value as a string, or null where the object does not have it. */
    public String xattr(String rel, String name) {
        byte[] v = xattrBytes(rel, name);
        return v == null ? null : new String(v, StandardCharsets.UTF_8);
    }

    public byte[] xattrBytes(String rel, String name) {
        try {
            return sys.lgetxattr(Linux.AT_FDCWD, abs(rel), name);
        } catch (FsException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every xattr name of the real object, sorted. */
    public List<String> xattrNames(String rel) {
        try {
            List<String> names = new ArrayList<>(sys.llistxattr(Linux.AT_FDCWD, abs(rel)));
            names.sort(null);
            return names;
        } catch (FsException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The names in a real directory, sorted. */
    public List<String> list(String rel) {
        try (Stream<Path> s = Files.list(path(rel))) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** True for a character device 0/0 (the kernel's whiteout). */
    public boolean isWhiteout(String rel) {
        if (!exists(rel)) {
            return false;
        }
        Stat st = stat(rel);
        return st.isCharDevice() && st.rdev() == 0;
    }

    /** True where the real directory carries {@code trusted.overlay.opaque=y}. */
    public boolean isOpaque(String rel) {
        return "y".equals(xattr(rel, "trusted.overlay.opaque"));
    }

    @Override
    public String toString() {
        return root.toString();
    }

    /** An object just built, to adjust. */
    public final class Node {
        private final String rel;

        Node(String rel) {
            this.rel = rel;
        }

        public String rel() {
            return rel;
        }

        public Path path() {
            return LayerTree.this.path(rel);
        }

        public LayerTree tree() {
            return LayerTree.this;
        }

        /** chmod (permission bits, including set-id and sticky); not for symbolic links. */
        public Node mode(int perms) {
            try {
                sys.fchmodat(Linux.AT_FDCWD, abs(rel), perms & Linux.PERMISSION_BITS);
            } catch (FsException e) {
                throw new UncheckedIOException(e);
            }
            return this;
        }

        /** lchown, keeping set-id bits a chown would clear. */
        public Node owner(int uid, int gid) {
            try {
                Stat before = sys.lstat(Linux.AT_FDCWD, abs(rel));
                sys.lchownat(Linux.AT_FDCWD, abs(rel), uid, gid);
                if (!before.isSymlink() && sys.lstat(Linux.AT_FDCWD, abs(rel)).mode() != before.mode()) {
                    sys.fchmodat(Linux.AT_FDCWD, abs(rel), before.permissions());
                }
            } catch (FsException e) {
                throw new UncheckedIOException(e);
            }
            return this;
        }

        public Node xattr(String name, String value) {
            return xattr(name, value.getBytes(StandardCharsets.UTF_8));
        }

        public Node xattr(String name, byte[] value) {
            try {
                sys.lsetxattr(Linux.AT_FDCWD, abs(rel), name, value, 0);
            } catch (FsException e) {
                throw new UncheckedIOException(e);
            }
            return this;
        }

        /** Sets atime and mtime (kept: see {@link LayerTree#settle()}). */
        public Node times(Timespec atime, Timespec mtime) {
            pinnedTimes.put(rel, new Timespec[] {atime, mtime});
            try {
                sys.lutimensat(Linux.AT_FDCWD, abs(rel), atime, mtime);
            } catch (FsException e) {
                throw new UncheckedIOException(e);
            }
            return this;
        }

        /** Sets the mtime, and the atime to one second later (so the two can be told apart). */
        public Node mtime(long sec, long nsec) {
            return times(new Timespec(sec + 1, nsec), new Timespec(sec, nsec));
        }

        public Stat stat() {
            return LayerTree.this.stat(rel);
        }
    }
}
