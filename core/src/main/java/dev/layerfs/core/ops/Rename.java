package dev.layerfs.core.ops;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.lookup.Entry;
import dev.layerfs.core.model.OverlayPaths;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Syscalls;
import dev.layerfs.core.whiteout.WhiteoutCodec;

/**
 * rename(2) and renameat2 with RENAME_NOREPLACE or RENAME_EXCHANGE, as the kernel overlay does it with
 * redirect_dir=off: files are copied up and moved, leaving a whiteout where a lower layer still has the old
 * name; directories move only when the upper layer alone holds them (else EXDEV, so that tools fall back to
 * copying); a directory moved into a merged directory becomes opaque, so nothing of the lower layers shows
 * through it.
 */
public final class Rename {
    private final Engine engine;
    private final Syscalls sys = Syscalls.get();

    public Rename(Engine engine) {
        this.engine = engine;
    }

    public void rename(String from, String to, int flags) throws FsException {
        boolean exchange = (flags & Linux.RENAME_EXCHANGE) != 0;
        boolean noReplace = (flags & Linux.RENAME_NOREPLACE) != 0;
        if ((flags & ~(Linux.RENAME_EXCHANGE | Linux.RENAME_NOREPLACE)) != 0 || (exchange && noReplace)) {
            throw FsException.of(Errno.EINVAL, "rename", "/" + from);
        }
        engine.requireWritable("rename", from);
        if (from.isEmpty() || to.isEmpty()) {
            throw FsException.of(Errno.EBUSY, "rename", "/");
        }
        Entry src = engine.lookup().resolve(from).requireExists("rename");
        Entry dstParent = engine.lookup().resolve(OverlayPaths.parent(to)).requireDirectory("rename");
        Entry dst = engine.lookup().child(dstParent, OverlayPaths.name(to));
        if (src.isDirectory() && OverlayPaths.isSameOrBelow(to, from) && !to.equals(from)) {
            throw FsException.of(Errno.EINVAL, "rename into itself", "/" + from);
        }
        if (exchange && !dst.exists()) {
            throw FsException.of(Errno.ENOENT, "rename", "/" + to);
        }
        if (exchange && dst.isDirectory() && OverlayPaths.isSameOrBelow(from, to) && !to.equals(from)) {
            throw FsException.of(Errno.EINVAL, "rename into itself", "/" + to);
        }
        if (noReplace && dst.exists()) {
            throw FsException.of(Errno.EEXIST, "rename", "/" + to);
        }
        if (from.equals(to) || sameFile(src, dst)) {
            return;
        }
        if (dst.exists() && !exchange) {
            if (src.isDirectory() && !dst.isDirectory()) {
                throw FsException.of(Errno.ENOTDIR, "rename", "/" + to);
            }
            if (!src.isDirectory() && dst.isDirectory()) {
                throw FsException.of(Errno.EISDIR, "rename", "/" + to);
            }
        }
        // As the kernel: a directory that cannot move is EXDEV before its target is found not empty.
        requireMovable(src, from);
        if (exchange) {
            requireMovable(dst, to);
        }
        if (dst.exists() && !exchange && dst.isDirectory() && !engine.directories().isEmpty(dst)) {
            throw FsException.of(Errno.ENOTEMPTY, "rename", "/" + to);
        }
        if (WhiteoutCodec.isReservedName(OverlayPaths.name(to))) {
            throw FsException.of(Errno.EINVAL, "rename (names beginning with .wh. are reserved)", "/" + to);
        }

        // Copy up both parents and the objects that move, then look everything up again.
        engine.copyUp().ensureUpperDirectory(src.parent());
        engine.copyUp().ensureUpperDirectory(dstParent);
        engine.copyUp().copyUp(engine.lookup().resolve(from));
        if (exchange) {
            engine.copyUp().copyUp(engine.lookup().resolve(to));
        }
        Entry srcParent = engine.lookup().resolve(OverlayPaths.parent(from));
        dstParent = engine.lookup().resolve(OverlayPaths.parent(to));
        src = engine.lookup().child(srcParent, OverlayPaths.name(from));
        dst = engine.lookup().child(dstParent, OverlayPaths.name(to));
        int upperFd = engine.writer().upper().fd();

        if (src.isDirectory() && !dstParent.isPureUpper()) {
            engine.whiteouts().markOpaque(src.top().absolute());
        }
        if (exchange) {
            if (dst.isDirectory() && !srcParent.isPureUpper()) {
                engine.whiteouts().markOpaque(dst.top().absolute());
            }
            sys.renameat2(upperFd, from, upperFd, to, Linux.RENAME_EXCHANGE);
            return;
        }

        boolean leaveWhiteout = engine.lookup().lowerPositive(srcParent, OverlayPaths.name(from));
        if (dst.isDirectory() && dst.hasUpper()) {
            engine.writer().clearDirectory(to);
        }
        if (src.isDirectory() && dst.upperWhiteout() == Entry.UpperWhiteout.DEVICE) {
            // A directory cannot replace a device: swap them, then the whiteout is where the directory was.
            sys.renameat2(upperFd, from, upperFd, to, Linux.RENAME_EXCHANGE);
            if (!leaveWhiteout) {
                sys.unlinkat(upperFd, from, false);
            }
        } else {
            moveLeavingWhiteout(upperFd, from, to, leaveWhiteout);
        }
        if (dst.upperWhiteout() == Entry.UpperWhiteout.AUFS_FILE) {
            engine.whiteouts().removeWhiteoutFile(engine.writer().upper(), to);
        }
        engine.openFiles().forget(to);
    }

    private void moveLeavingWhiteout(int upperFd, String from, String to, boolean whiteout) throws FsException {
        if (whiteout && engine.whiteouts().writesDeviceWhiteouts()) {
            try {
                sys.renameat2(upperFd, from, upperFd, to, Linux.RENAME_WHITEOUT);
                return;
            } catch (FsException e) {
                if (e.errno() != Errno.EINVAL && e.errno() != Errno.EPERM && e.errno() != Errno.EOPNOTSUPP) {
                    throw e;
                }
            }
        }
        sys.renameat2(upperFd, from, upperFd, to, 0);
        if (whiteout) {
            engine.writer().whiteout(from);
        }
    }

    /**
     * Two names of one upper file (hard links in the upper layer): one inode to the kernel overlay, so, as the VFS
     * does for source == target, rename does nothing and succeeds. Hard links in a lower layer are separate
     * inodes to the kernel overlay without index=on: there the rename happens (copying up, which breaks the link).
     */
    private static boolean sameFile(Entry src, Entry dst) {
        if (!src.hasUpper() || !dst.hasUpper() || src.isDirectory() || dst.isDirectory()) {
            return false;
        }
        return src.top().stat().dev() == dst.top().stat().dev() && src.top().stat().ino() == dst.top().stat().ino();
    }

    /** Directories move only when the upper layer alone holds them (the kernel with redirect_dir=off). */
    private static void requireMovable(Entry e, String path) throws FsException {
        if (e.isDirectory() && !e.isPureUpper()) {
            throw FsException.of(Errno.EXDEV, "rename of a directory with lower-layer content", "/" + path);
        }
    }
}
