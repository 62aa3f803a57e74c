package dev.layerfs.core.ops;

import dev.layerfs.core.copyup.CopyUp;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.inode.InodeNumbers;
import dev.layerfs.core.lookup.Entry;
import dev.layerfs.core.lookup.Lookup;
import dev.layerfs.core.lookup.RealPath;
import dev.layerfs.core.model.Caller;
import dev.layerfs.core.model.IdMapping;
import dev.layerfs.core.model.LayerStack;
import dev.layerfs.core.model.OverlayPaths;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Syscalls;
import dev.layerfs.core.whiteout.WhiteoutCodec;

/**
 * Creating names: files, directories, device nodes, fifos, sockets, symbolic links and hard links. The new
 * object is owned by the caller (the group of a set-group-ID parent, which a new directory also inherits, as
 * the kernel does), its mode is set explicitly so that the daemon's umask plays no part, and a whiteout in its
 * place is replaced atomically. The caller's ids are stored through the {@link IdMapping}.
 */
public final class Creation {
    private final LayerStack stack;
    private final Lookup lookup;
    private final CopyUp copyUp;
    private final UpperWriter writer;
    private final InodeNumbers inodes;
    private final IdMapping ids;
    private final boolean opaqueInMerged;
    private final Syscalls sys = Syscalls.get();
    /** The ids the daemon creates objects with (its effective ones). */
    private final int daemonUid = sys.geteuid();
    private final int daemonGid = sys.getegid();

    public Creation(LayerStack stack, Lookup lookup, CopyUp copyUp, UpperWriter writer, InodeNumbers inodes,
            IdMapping ids) {
        this(stack, lookup, copyUp, writer, inodes, ids, false);
    }

    /** @param opaqueInMerged directories made in merged directories are marked opaque (see KernelFeatures) */
    public Creation(LayerStack stack, Lookup lookup, CopyUp copyUp, UpperWriter writer, InodeNumbers inodes,
            IdMapping ids, boolean opaqueInMerged) {
        this.opaqueInMerged = opaqueInMerged;
        this.stack = stack;
        this.lookup = lookup;
        this.copyUp = copyUp;
        this.writer = writer;
        this.inodes = inodes;
        this.ids = ids;
    }

    /**
     * Creates a regular file where {@code missing} (a miss the caller has just looked up) stands, and returns a
     * descriptor opened with {@code flags} (O_CREAT|O_EXCL implied).
     */
    public int createFile(Entry missing, int flags, int mode, Caller caller) throws FsException {
        requireWritable("create", missing.path());
        return createPrepared(prepare(missing, "create"), flags, mode, caller);
    }

    private int createPrepared(Entry target, int flags, int mode, Caller caller) throws FsException {
        int openFlags = (flags & ~(Linux.O_CREAT | Linux.O_EXCL | Linux.O_TRUNC)) | Linux.O_CREAT | Linux.O_EXCL
                | Linux.O_NOFOLLOW;
        Ownership own = ownership(target, caller, mode, false);
        return writer.install(target, false, (dirfd, p) -> {
            int fd = sys.openat(dirfd, p, openFlags, own.mode);
            try {
                if (own.chown) {
                    sys.fchown(fd, own.uid, own.gid);
                }
                sys.fchmod(fd, own.mode);
                return fd;
            } catch (FsException e) {
                sys.close(fd);
                throw e;
            }
        });
    }

    public void mkdir(String path, int mode, Caller caller) throws FsException {
        Entry target = prepare(path, "mkdir");
        Ownership own = ownership(target, caller, mode, true);
        boolean opaque = opaqueInMerged && target.parent().isMergedDirectory();
        writer.install(target, true, (dirfd, p) -> {
            sys.mkdirat(dirfd, p, 0700);
            if (opaque) {
                writer.markOpaque(dirfd, p);
            }
            finish(dirfd, p, own, true);
            return -1;
        });
    }

    /** mknod: a fifo, socket, character or block device, or an empty regular file. */
    public void mknod(String path, int mode, long rdev, Caller caller) throws FsException {
        int type = mode & Linux.S_IFMT;
        if (type == Linux.S_IFDIR || type == Linux.S_IFLNK) {
            throw FsException.of(Errno.EINVAL, "mknod", OverlayPaths.show(path));
        }
        if (type == Linux.S_IFCHR && rdev == 0) {
            // A 0/0 device is a whiteout: the kernel overlay refuses to make one through the mount.
            requireWritable("mknod", path);
            lookup.resolve(path).requireAbsent("mknod");
            throw FsException.of(Errno.EPERM, "mknod (a 0/0 character device is a whiteout)", OverlayPaths.show(path));
        }
        Entry target = prepare(path, "mknod");
        Ownership own = ownership(target, caller, mode, false);
        writer.install(target, false, (dirfd, p) -> {
            sys.mknodat(dirfd, p, (type == 0 ? Linux.S_IFREG : type) | 0600, rdev);
            finish(dirfd, p, own, true);
            return -1;
        });
    }

    public void symlink(String target, String path, Caller caller) throws FsException {
        Entry entry = prepare(path, "symlink");
        Ownership own = ownership(entry, caller, 0777, false);
        writer.install(entry, false, (dirfd, p) -> {
            sys.symlinkat(target, dirfd, p);
            finish(dirfd, p, own, false);
            return -1;
        });
    }

    /** A hard link: the source is copied up first and linked in the upper layer. */
    public void link(String from, String to) throws FsException {
        requireWritable("link", to);
        Entry src = lookup.resolve(from).requireExists("link");
        if (src.isDirectory()) {
            throw FsException.of(Errno.EPERM, "link", OverlayPaths.show(from));
        }
        prepare(to, "link");
        boolean srcWasLower = !src.hasUpper();
        src = copyUp.copyUpMetadata(src);
        if (src.isMetacopy()) {
            // As the kernel's ovl_link: every name of a metadata-only file finds its data through an absolute
            // redirect.
            new Redirects(writer, writer.whiteouts()).set(src, false);
            lookup.invalidate(from);
        }
        Entry target = prepare(to, "link");
        if (srcWasLower || inodes.hasOrigin(writer.upper(), from)) {
            // As ovl_link: the new name shows its origin's number, so listings of its directory must look it up.
            copyUp.markImpure(target.parent());
            target = prepare(to, "link");
        }
        writer.install(target, false, (dirfd, p) -> {
            sys.linkat(writer.upper().fd(), from, dirfd, p);
            return -1;
        });
    }

    /** Checks that the name can be created and copies its parent up; returns the (missing) entry. */
    private Entry prepare(String path, String op) throws FsException {
        requireWritable(op, path);
        if (path.isEmpty()) {
            throw FsException.of(Errno.EEXIST, op, "/");
        }
        Entry parent = lookup.resolve(OverlayPaths.parent(path)).requireDirectory(op);
        return prepare(lookup.child(parent, OverlayPaths.name(path)), op);
    }

    /** The part of {@link #prepare(String, String)} after the lookup of the name in its parent. */
    private Entry prepare(Entry target, String op) throws FsException {
        if (WhiteoutCodec.isReservedName(target.name())) {
            throw FsException.of(Errno.EINVAL, op + " (names beginning with .wh. are reserved)", OverlayPaths.show(target.path()));
        }
        target.requireAbsent(op);
        Entry parent = target.parent();
        if (parent.hasUpper()) {
            return target;
        }
        Entry upperParent = copyUp.ensureUpperDirectory(parent);
        return lookup.child(upperParent, target.name());
    }

    private void requireWritable(String op, String path) throws FsException {
        stack.requireUpper(op, OverlayPaths.show(path));
    }

    private record Ownership(boolean chown, int uid, int gid, int mode) {}

    /**
     * Who owns a new object, and its mode. The chown is left out where the real file system gives the object that
     * owner by itself: the daemon's own ids, in an upper parent directory of the daemon's group (then a new object
     * gets that group whether it inherits the parent's or takes the daemon's, setgid or {@code grpid} mounts
     * alike). Root's untar creates every object so: one fchown fewer each.
     */
    private Ownership ownership(Entry target, Caller caller, int mode, boolean directory) {
        int perms = mode & Linux.PERMISSION_BITS;
        var parent = target.parent().stat();
        int gid = ids.storedGid(caller.gid());
        if ((parent.mode() & Linux.S_ISGID) != 0) {
            gid = ids.canonicalGid(parent.gid());
            if (directory) {
                perms |= Linux.S_ISGID;
            }
        }
        int uid = ids.storedUid(caller.uid());
        RealPath upperParent = target.parent().top();
        boolean given = uid == daemonUid && gid == daemonGid && upperParent.isUpper()
                && upperParent.stat().gid() == daemonGid;
        return new Ownership(!given, uid, gid, perms);
    }

    private void finish(int dirfd, String path, Ownership own, boolean chmod) throws FsException {
        if (own.chown) {
            sys.lchownat(dirfd, path, own.uid, own.gid);
        }
        if (chmod) {
            sys.fchmodat(dirfd, path, own.mode);
        }
    }
}
