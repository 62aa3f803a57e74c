package dev.layerfs.it.fuzz;

import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.RawDirent;
import dev.layerfs.core.nativeio.Stat;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Runs operations in one sequence's directory of one mount and says what happened, as text ("ok", a value, or
 * an errno name), so that the kernel's and layerfs's answers compare as strings.
 *
 * <p>Every path is resolved below the sequence's directory and never out of it: a parent directory is opened
 * with openat2(RESOLVE_BENEATH) and the operation made relative to it ({@code mkdirat(parent, name)} ...), so a
 * symbolic link to {@code /etc} or {@code ../../..} in a generated layer can never make the fuzzer touch the
 * host. Operations that follow a final symbolic link (open, chmod, chown, utimens, truncate) open the object
 * itself with RESOLVE_BENEATH, as an O_PATH descriptor where no I/O is wanted, and name it by its
 * {@code /proc/self/fd} magic link. Operations "as UID" switch this thread's fsuid and fsgid (the thread has no
 * supplementary groups): the kernel checks permissions, and FUSE passes the caller, exactly as for a process of
 * that user.
 *
 * <p>Paths and names arrive in text form ({@link ByteNames}) and go to the system calls as bytes; what comes back
 * (listings, link targets, xattr names and values) is text form again. Reads and writes go through aligned native
 * memory ({@link Sys#alignedBuffer}), at the operation's own distance past a 4,096-byte boundary for dread/dwrite,
 * so an O_DIRECT descriptor sees the same alignment on both sides.
 */
final class Exec {
    static final int SLOTS = 3;
    static final String SKIPPED = "skipped";

    private final int root;
    private final long newSince;
    private final int[] slots = new int[SLOTS];
    /** The root's own path (a byte string), as /proc names it. */
    private final String rootPath;

    /**
     * @param root an O_PATH descriptor of the sequence's directory in the mount
     * @param newSince times from this second on are "new" (made by the run), older ones are compared exactly
     */
    Exec(int root, long newSince) {
        this.root = root;
        this.newSince = newSince;
        java.util.Arrays.fill(slots, -1);
        this.rootPath = Sys.readlink(Linux.AT_FDCWD, Sys.fdPath(root), new int[1]);
    }

    void closeAll() {
        for (int i = 0; i < SLOTS; i++) {
            Sys.close(slots[i]);
            slots[i] = -1;
        }
    }

    String run(Op op) {
        Inodes.Watch watch = Inodes.watch(this, op);
        String outcome;
        if (op.uid() == 0) {
            outcome = run0(op);
        } else {
            Sys.C.setfsgid(op.uid());
            Sys.C.setfsuid(op.uid());
            try {
                outcome = run0(op);
            } finally {
                Sys.C.setfsuid(0);
                Sys.C.setfsgid(0);
            }
        }
        return watch == null || !outcome.startsWith("ok") ? outcome : outcome + watch.relation(this);
    }

    /**
     * The inode number of what a path (text form) names, following a final link or not; -1 where it cannot be
     * stat'ed.
     */
    long ino(String path, boolean follow) {
        int[] e = new int[1];
        if (follow) {
            int fd = Sys.openBeneath(root, ByteNames.bytes(path), Linux.O_PATH, 0);
            if (fd < 0) {
                return -1;
            }
            try {
                Stat st = Sys.fstat(fd, e);
                return st == null ? -1 : st.ino();
            } finally {
                Sys.close(fd);
            }
        }
        int p = parent(path);
        if (p < 0) {
            return -1;
        }
        try {
            Stat st = Sys.lstat(p, leaf(path), e);
            return st == null ? -1 : st.ino();
        } finally {
            release(p);
        }
    }

    /**
     * The operation with each path it names replaced by the path it resolves to now, below the root, before it
     * runs (so that {@link Allowed} excuses match the object, not the name as written: with a link {@code b -> .},
     * {@code b/n} is {@code n}). A path that follows a final link (open, chmod, chown, utimens, truncate, cat) is
     * resolved to the object where it exists, any other one to its resolved parent and its last component as
     * written; where nothing resolves (a missing parent, a path longer than /proc's links show), as written.
     */
    Op resolved(Op op) {
        List<String> args = new ArrayList<>(op.args());
        switch (op.name()) {
            case "open" -> args.set(1, resolve(op.arg(1), !op.arg(2).contains("NOFOLLOW")));
            case "truncate", "chmod", "chown", "utimens", "cat" -> args.set(0, resolve(op.arg(0), true));
            case "rename", "link" -> {
                args.set(0, resolve(op.arg(0), false));
                args.set(1, resolve(op.arg(1), false));
            }
            case "symlink" -> args.set(1, resolve(op.arg(1), false));
            case "unlink", "rmdir", "mkdir", "mkfifo", "mknod", "lchown", "lutimens", "setxattr", "removexattr",
                    "getxattr", "listxattr", "stat", "readlink", "readdir" -> args.set(0, resolve(op.arg(0), false));
            default -> { }
        }
        return new Op(op.uid(), op.name(), List.copyOf(args));
    }

    private String resolve(String path, boolean follow) {
        if (path.equals(".")) {
            return path;
        }
        String leaf = leaf(path);
        if (follow || leaf.equals(".") || leaf.equals("..")) {
            int fd = Sys.openBeneath(root, ByteNames.bytes(path), Linux.O_PATH | (follow ? 0 : Linux.O_NOFOLLOW), 0);
            if (fd >= 0) {
                try {
                    String p = below(fd);
                    if (p != null) {
                        return p;
                    }
                } finally {
                    Sys.close(fd);
                }
            }
        }
        int p = parent(path);
        if (p < 0) {
            return path;
        }
        try {
            String dir = below(p);
            return dir == null ? path : dir.equals(".") ? ByteNames.text(leaf) : dir + "/" + ByteNames.text(leaf);
        } finally {
            release(p);
        }
    }

    /** The path (text form) of an open descriptor below the root, "." for the root; null where /proc cannot say. */
    private String below(int fd) {
        int[] e = new int[1];
        String p = Sys.readlink(Linux.AT_FDCWD, Sys.fdPath(fd), e);
        if (p == null || rootPath == null) {
            return null;
        }
        if (p.equals(rootPath)) {
            return ".";
        }
        return p.startsWith(rootPath + "/") ? ByteNames.text(p.substring(rootPath.length() + 1)) : null;
    }

    /** The inode number of the file open in a descriptor slot, -1 where there is none. */
    long slotIno(int slot) {
        int[] e = new int[1];
        Stat st = slots[slot] < 0 ? null : Sys.fstat(slots[slot], e);
        return st == null ? -1 : st.ino();
    }

    private static String err(int negErrno) {
        return Sys.errName(-negErrno);
    }

    private static String ok(int rc) {
        return rc < 0 ? err(rc) : "ok";
    }

    /** The last component of a path in text form, as a byte string. */
    private static String leaf(String path) {
        int slash = path.lastIndexOf('/');
        return ByteNames.bytes(slash < 0 ? path : path.substring(slash + 1));
    }

    /** The parent directory of a path in text form, opened below the root: a descriptor, or -errno. */
    private int parent(String path) {
        int slash = path.lastIndexOf('/');
        if (slash < 0) {
            return root;
        }
        return Sys.openBeneath(root, ByteNames.bytes(path.substring(0, slash)), Linux.O_PATH | Linux.O_DIRECTORY,
                0);
    }

    private void release(int fd) {
        if (fd != root) {
            Sys.close(fd);
        }
    }

    @FunctionalInterface
    private interface AtCall {
        String call(int dirfd, String name);
    }

    /** Runs a call relative to the parent of a path. */
    private String at(String path, AtCall call) {
        int p = parent(path);
        if (p < 0) {
            return err(p);
        }
        try {
            return call.call(p, leaf(path));
        } finally {
            release(p);
        }
    }

    @FunctionalInterface
    private interface FdCall {
        String call(int fd);
    }

    /** Runs a call on the object a path names (following a final link, below the root), by an O_PATH fd. */
    private String object(String path, int flags, FdCall call) {
        int fd = Sys.openBeneath(root, ByteNames.bytes(path), flags, 0);
        if (fd < 0) {
            return err(fd);
        }
        try {
            return call.call(fd);
        } finally {
            Sys.close(fd);
        }
    }

    private int slot(Op op) {
        return Integer.parseInt(op.arg(0));
    }

    private String run0(Op op) {
        switch (op.name()) {
            case "open": {
                int flags = openFlags(op.arg(2)) | Linux.O_NONBLOCK;
                int fd = Sys.openBeneath(root, ByteNames.bytes(op.arg(1)), flags, Integer.parseInt(op.arg(3), 8));
                if (fd < 0) {
                    return err(fd);
                }
                if (op.arg(0).equals("-")) {
                    Sys.close(fd);
                } else {
                    int s = slot(op);
                    Sys.close(slots[s]);
                    slots[s] = fd;
                }
                return "ok";
            }
            case "write":
                return write(op, 0);
            case "read":
                return read(op, 0);
            case "dwrite":
                return write(op, Integer.parseInt(op.arg(4)));
            case "dread":
                return read(op, Integer.parseInt(op.arg(3)));
            case "ftruncate": {
                int fd = slots[slot(op)];
                return fd < 0 ? "EBADF" : ok(Sys.rc(Sys.C.ftruncate(fd, Long.parseLong(op.arg(1)))));
            }
            case "fchmod": {
                int fd = slots[slot(op)];
                return fd < 0 ? "EBADF" : ok(Sys.rc(Sys.C.fchmod(fd, Integer.parseInt(op.arg(1), 8))));
            }
            case "fstat": {
                int fd = slots[slot(op)];
                if (fd < 0) {
                    return "EBADF";
                }
                int[] e = new int[1];
                Stat st = Sys.fstat(fd, e);
                return st == null ? Sys.errName(e[0]) : stat(st);
            }
            case "close": {
                int s = slot(op);
                if (slots[s] < 0) {
                    return "EBADF";
                }
                int rc = Sys.rc(Sys.C.close(slots[s]));
                slots[s] = -1;
                return ok(rc);
            }
            case "truncate":
                return object(op.arg(0), Linux.O_PATH,
                        fd -> ok(Sys.rc(Sys.C.truncate(Sys.fdPath(fd), Long.parseLong(op.arg(1))))));
            case "mknod":
                return at(op.arg(0), (d, n) -> ok(Sys.rc(Sys.C.mknodat(d, n,
                        nodeType(op.arg(2)) | Integer.parseInt(op.arg(1), 8), op.arg(2).equals("chr") ? 0x103 : 0))));
            case "unlink":
                return at(op.arg(0), (d, n) -> ok(Sys.rc(Sys.C.unlinkat(d, n, 0))));
            case "rmdir":
                return at(op.arg(0), (d, n) -> ok(Sys.rc(Sys.C.unlinkat(d, n, Linux.AT_REMOVEDIR))));
            case "mkdir":
                return at(op.arg(0), (d, n) -> ok(Sys.rc(Sys.C.mkdirat(d, n, Integer.parseInt(op.arg(1), 8)))));
            case "mkfifo":
                return at(op.arg(0), (d, n) -> ok(Sys.rc(Sys.C.mknodat(d, n,
                        Linux.S_IFIFO | Integer.parseInt(op.arg(1), 8), 0))));
            case "symlink":
                return at(op.arg(1), (d, n) -> ok(Sys.rc(Sys.C.symlinkat(ByteNames.bytes(op.arg(0)), d, n))));
            case "rename": {
                int flags = switch (op.arg(2)) {
                    case "0" -> 0;
                    case "NOREPLACE" -> Linux.RENAME_NOREPLACE;
                    case "EXCHANGE" -> Linux.RENAME_EXCHANGE;
                    case "WHITEOUT" -> Linux.RENAME_WHITEOUT;
                    default -> throw new IllegalArgumentException(op.text());
                };
                return at(op.arg(0), (d1, n1) -> at(op.arg(1),
                        (d2, n2) -> ok(Sys.rc(Sys.C.renameat2(d1, n1, d2, n2, flags)))));
            }
            case "link":
                return at(op.arg(0), (d1, n1) -> at(op.arg(1),
                        (d2, n2) -> ok(Sys.rc(Sys.C.linkat(d1, n1, d2, n2, 0)))));
            case "chmod":
                return object(op.arg(0), Linux.O_PATH, fd -> ok(Sys.rc(Sys.C.fchmodat(Linux.AT_FDCWD,
                        Sys.fdPath(fd), Integer.parseInt(op.arg(1), 8), 0))));
            case "chown":
                return object(op.arg(0), Linux.O_PATH, fd -> ok(Sys.rc(Sys.C.fchownat(Linux.AT_FDCWD,
                        Sys.fdPath(fd), Integer.parseInt(op.arg(1)), Integer.parseInt(op.arg(2)), 0))));
            case "lchown":
                return at(op.arg(0), (d, n) -> ok(Sys.rc(Sys.C.fchownat(d, n, Integer.parseInt(op.arg(1)),
                        Integer.parseInt(op.arg(2)), Linux.AT_SYMLINK_NOFOLLOW))));
            case "utimens":
                return object(op.arg(0), Linux.O_PATH, fd -> ok(Sys.rc(Sys.C.utimensat(Linux.AT_FDCWD,
                        Sys.fdPath(fd), times(op.arg(1), op.arg(2)), 0))));
            case "lutimens":
                return at(op.arg(0), (d, n) -> ok(Sys.rc(Sys.C.utimensat(d, n, times(op.arg(1), op.arg(2)),
                        Linux.AT_SYMLINK_NOFOLLOW))));
            case "setxattr":
                return at(op.arg(0), (d, n) -> {
                    byte[] v = ByteNames.bytes(op.arg(2).substring(1)).getBytes(StandardCharsets.ISO_8859_1);
                    int flags = switch (op.arg(3)) {
                        case "CREATE" -> Linux.XATTR_CREATE;
                        case "REPLACE" -> Linux.XATTR_REPLACE;
                        default -> 0;
                    };
                    return ok(Sys.rc(Sys.C.lsetxattr(at(d, n), ByteNames.bytes(op.arg(1)), v, v.length, flags)));
                });
            case "removexattr":
                return at(op.arg(0), (d, n) -> ok(Sys.rc(Sys.C.lremovexattr(at(d, n), ByteNames.bytes(op.arg(1))))));
            case "getxattr":
                return at(op.arg(0), (d, n) -> {
                    byte[] buf = new byte[4096];
                    int len = Sys.rc(Sys.C.lgetxattr(at(d, n), ByteNames.bytes(op.arg(1)), buf, buf.length));
                    return len < 0 ? err(len) : "ok =" + ByteNames.text(buf, 0, len);
                });
            case "listxattr":
                return at(op.arg(0), (d, n) -> {
                    int[] e = new int[1];
                    List<String> names = Sys.xattrNames(d, n, e);
                    return names == null ? Sys.errName(e[0]) : "ok " + names.stream().map(ByteNames::text).toList();
                });
            case "stat":
                return at(op.arg(0), (d, n) -> {
                    int[] e = new int[1];
                    Stat st = Sys.lstat(d, n, e);
                    return st == null ? Sys.errName(e[0]) : stat(st);
                });
            case "readlink":
                return at(op.arg(0), (d, n) -> {
                    int[] e = new int[1];
                    String t = Sys.readlink(d, n, e);
                    return t == null ? Sys.errName(e[0]) : "ok " + ByteNames.text(t);
                });
            case "readdir":
                return readdir(op.arg(0));
            case "cat":
                return cat(op.arg(0));
            default:
                throw new IllegalArgumentException("unknown operation: " + op.text());
        }
    }

    /**
     * pwrite of LEN bytes from SEED at OFFSET through a slot, from native memory at {@code mem} bytes past a
     * 4,096-byte boundary (so that an O_DIRECT descriptor sees the same alignment on both sides).
     */
    private String write(Op op, int mem) {
        int fd = slots[slot(op)];
        if (fd < 0) {
            return "EBADF";
        }
        byte[] data = new byte[Integer.parseInt(op.arg(2))];
        new SplittableRandom(Long.parseLong(op.arg(3))).nextBytes(data);
        int n = Sys.pwrite(fd, data, mem, Long.parseLong(op.arg(1)));
        return n < 0 ? err(n) : "ok " + n;
    }

    /** pread of LEN bytes at OFFSET through a slot, into native memory at {@code mem} past a 4,096-byte boundary. */
    private String read(Op op, int mem) {
        int fd = slots[slot(op)];
        if (fd < 0) {
            return "EBADF";
        }
        byte[] data = new byte[Integer.parseInt(op.arg(2))];
        int n = Sys.pread(fd, data, mem, data.length, Long.parseLong(op.arg(1)));
        return n < 0 ? err(n) : "ok " + n + " " + digest(data, n) + links(fd);
    }

    static int nodeType(String type) {
        return switch (type) {
            case "reg" -> Linux.S_IFREG;
            case "sock" -> Linux.S_IFSOCK;
            case "chr" -> Linux.S_IFCHR;
            default -> throw new IllegalArgumentException("mknod type " + type);
        };
    }

    /** The path by which a name in an open directory is reached without resolving the directory again. */
    private static String at(int dirfd, String name) {
        return Sys.fdPath(dirfd) + "/" + name;
    }

    private String readdir(String path) {
        int dir;
        String name;
        if (path.equals(".")) {
            dir = root;
            name = "";
        } else {
            dir = parent(path);
            if (dir < 0) {
                return err(dir);
            }
            name = leaf(path);
        }
        try {
            int[] e = new int[1];
            List<RawDirent> list = Sys.readdir(dir, name, e);
            if (list == null) {
                return Sys.errName(e[0]);
            }
            List<String> names = new ArrayList<>();
            for (RawDirent d : list) {
                int[] e2 = new int[1];
                Stat st = Sys.lstat(dir, name.isEmpty() ? d.name() : name + "/" + d.name(), e2);
                String n = ByteNames.text(d.name());
                // A name listed but not found: the kernel's whiteouts in a directory that is not merged. A name
                // whose d_ino is not the st_ino of what it names says so (Allowed.INODE_NUMBERS).
                names.add(st == null && e2[0] == 2 ? n + Allowed.GHOST_MARK
                        : st != null && st.ino() != d.ino() ? n + Allowed.D_INO_MARK : n);
            }
            names.sort(null);
            return "ok " + names;
        } finally {
            release(dir);
        }
    }

    private String cat(String path) {
        int fd = Sys.openBeneath(root, ByteNames.bytes(path), Linux.O_RDONLY | Linux.O_NONBLOCK, 0);
        if (fd < 0) {
            return err(fd);
        }
        try {
            MessageDigest md = md5();
            byte[] buf = new byte[131072];
            long total = 0;
            while (true) {
                int n = Sys.pread(fd, buf, 0, buf.length, total);
                if (n < 0) {
                    return err(n) + " after " + total;
                }
                if (n == 0) {
                    break;
                }
                md.update(buf, 0, n);
                total += n;
            }
            return "ok " + total + " " + HexFormat.of().formatHex(md.digest()).substring(0, 12) + links(fd);
        } finally {
            Sys.close(fd);
        }
    }

    /** " links=N": the link count of an open file (reads of a hard-linked file: see Allowed.HARD_LINK_PAGE_CACHE). */
    private static String links(int fd) {
        int[] e = new int[1];
        Stat st = Sys.fstat(fd, e);
        return st == null ? " links=" + Sys.errName(e[0]) : " links=" + st.nlink();
    }

    /** A stat as text: type, mode, owner, size (not of directories), links, and the mtime where it is old. */
    String stat(Stat st) {
        StringBuilder b = new StringBuilder(Sys.typeName(st.mode())).append(' ')
                .append(Stack.octal(st.permissions())).append(' ').append(st.uid()).append(':').append(st.gid());
        if (!st.isDirectory()) {
            b.append(" size=").append(st.size());
        }
        b.append(" nlink=").append(st.nlink()).append(" mtime=").append(mtime(st, newSince));
        return b.toString();
    }

    static String mtime(Stat st, long newSince) {
        return st.mtime().sec() >= newSince ? "new" : Stack.time(st.mtime().sec(), st.mtime().nsec());
    }

    static int openFlags(String text) {
        int f = 0;
        for (String s : text.split("\\|")) {
            f |= switch (s) {
                case "RDONLY" -> Linux.O_RDONLY;
                case "WRONLY" -> Linux.O_WRONLY;
                case "RDWR" -> Linux.O_RDWR;
                case "CREAT" -> Linux.O_CREAT;
                case "EXCL" -> Linux.O_EXCL;
                case "TRUNC" -> Linux.O_TRUNC;
                case "APPEND" -> Linux.O_APPEND;
                case "DIRECTORY" -> Linux.O_DIRECTORY;
                case "NOFOLLOW" -> Linux.O_NOFOLLOW;
                case "DIRECT" -> Linux.O_DIRECT;
                default -> throw new IllegalArgumentException("open flag " + s);
            };
        }
        return f;
    }

    private static long[] times(String atime, String mtime) {
        long[] t = new long[4];
        time(atime, t, 0);
        time(mtime, t, 2);
        return t;
    }

    private static void time(String s, long[] t, int i) {
        switch (s) {
            case "NOW" -> t[i + 1] = Linux.UTIME_NOW;
            case "OMIT" -> t[i + 1] = Linux.UTIME_OMIT;
            default -> {
                String[] p = s.split("\\.");
                t[i] = Long.parseLong(p[0]);
                t[i + 1] = Long.parseLong(p[1]);
            }
        }
    }

    static MessageDigest md5() {
        try {
            return MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String digest(byte[] data, int n) {
        MessageDigest md = md5();
        md.update(data, 0, Math.max(0, n));
        return HexFormat.of().formatHex(md.digest()).substring(0, 12);
    }
}
