package dev.layerfs.core.ops;

import dev.layerfs.core.copyup.CopyUp;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.handle.LowerOpenFiles;
import dev.layerfs.core.inode.InodeNumbers;
import dev.layerfs.core.lookup.Entry;
import dev.layerfs.core.lookup.Lookup;
import dev.layerfs.core.model.LayerStack;
import dev.layerfs.core.model.OverlayPaths;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Syscalls;
import dev.layerfs.core.readdir.MergedDirectory;
import dev.layerfs.core.whiteout.WhiteoutCodec;

/**
 * rename(2) and renameat2 with RENAME_NOREPLACE or RENAME_EXCHANGE, as the kernel overlay does it with
 * redirect_dir=off: files are copied up and moved, leaving a whiteout where a lower layer still has the old
 * name; directories move only when the upper layer alone holds them (else EXDEV, so that tools fall back to
 * copying); a directory moved into a merged directory becomes opaque, so nothing of the lower layers shows
 * through it. An object with an origin record moved into another directory marks that directory impure.
 */
public final class Rename {
    private final LayerStack stack;
    private final Lookup lookup;
    private final CopyUp copyUp;
    private final UpperWriter writer;
    private final MergedDirectory directories;
    private final WhiteoutCodec whiteouts;
    private final LowerOpenFiles lowerOpenFiles;
    private final InodeNumbers inodes;
    private final Syscalls sys = Syscalls.get();

    public Rename(LayerStack stack, Lookup lookup, CopyUp copyUp, UpperWriter writer, MergedDirectory directories,
            WhiteoutCodec whiteouts, LowerOpenFiles lowerOpenFiles, InodeNumbers inodes) {
        this.stack = stack;
        this.lookup = lookup;
        this.copyUp = copyUp;
        this.writer = writer;
        this.directories = directories;
        this.whiteouts = whiteouts;
        this.lowerOpenFiles = lowerOpenFiles;
        this.inodes = inodes;
    }

    public void rename(String from, String to, int flags) throws FsException {
        boolean exchange = (flags & Linux.RENAME_EXCHANGE) != 0;
        boolean noReplace = (flags & Linux.RENAME_NOREPLACE) != 0;
        if ((flags & ~(Linux.RENAME_EXCHANGE | Linux.RENAME_NOREPLACE)) != 0 || (exchange && noReplace)) {
            throw FsException.of(Errno.EINVAL, "rename", OverlayPaths.show(from));
        }
        stack.requireUpper("rename", OverlayPaths.show(from));
        if (from.isEmpty() || to.isEmpty()) {
            throw FsException.of(Errno.EBUSY, "rename", "/");
        }
        Entry src = lookup.resolve(from).requireExists("rename");
        Entry dstParent = lookup.resolve(OverlayPaths.parent(to)).requireDirectory("rename");
        Entry dst = lookup.child(dstParent, OverlayPaths.name(to));
        if (src.isDirectory() && OverlayPaths.isSameOrBelow(to, from) && !to.equals(from)) {
            throw FsException.of(Errno.EINVAL, "rename into itself", OverlayPaths.show(from));
        }
        if (exchange && !dst.exists()) {
            throw FsException.of(Errno.ENOENT, "rename", OverlayPaths.show(to));
        }
        if (exchange && dst.isDirectory() && OverlayPaths.isSameOrBelow(from, to) && !to.equals(from)) {
            throw FsException.of(Errno.EINVAL, "rename into itself", OverlayPaths.show(to));
        }
        if (noReplace && dst.exists()) {
            throw FsException.of(Errno.EEXIST, "rename", OverlayPaths.show(to));
        }
        if (from.equals(to) || sameFile(src, dst)) {
            return;
        }
        if (dst.exists() && !exchange) {
            if (src.isDirectory() && !dst.isDirectory()) {
                throw FsException.of(Errno.ENOTDIR, "rename", OverlayPaths.show(to));
            }
            if (!src.isDirectory() && dst.isDirectory()) {
                throw FsException.of(Errno.EISDIR, "rename", OverlayPaths.show(to));
            }
        }
        // As the kernel: a directory that cannot move is EXDEV before its target is found not empty.
        requireMovable(src, from);
        if (exchange) {
            requireMovable(dst, to);
        }
        if (dst.exists() && !exchange && dst.isDirectory() && !directories.isEmpty(dst)) {
            throw FsException.of(Errno.ENOTEMPTY, "rename", OverlayPaths.show(to));
        }
        if (WhiteoutCodec.isReservedName(OverlayPaths.name(to))) {
            throw FsException.of(Errno.EINVAL, "rename (names beginning with .wh. are reserved)", OverlayPaths.show(to));
        }
        boolean srcWasLower = !src.hasUpper();
        boolean dstWasLower = dst.exists() && !dst.hasUpper();

        // Copy up both parents and the objects that move, then look everything up again.
        copyUp.ensureUpperDirectory(src.parent());
        copyUp.ensureUpperDirectory(dstParent);
        copyUp.copyUp(lookup.resolve(from));
        if (exchange) {
            copyUp.copyUp(lookup.resolve(to));
        }
        Entry srcParent = lookup.resolve(OverlayPaths.parent(from));
        dstParent = lookup.resolve(OverlayPaths.parent(to));
        src = lookup.child(srcParent, OverlayPaths.name(from));
        dst = lookup.child(dstParent, OverlayPaths.name(to));
        boolean sameDir = OverlayPaths.parent(from).equals(OverlayPaths.parent(to));
        if (!sameDir && (srcWasLower || inodes.hasOrigin(writer.upper(), from))) {
            copyUp.markImpure(dstParent);
        }
        if (!sameDir && exchange && (dstWasLower || inodes.hasOrigin(writer.upper(), to))) {
            copyUp.markImpure(srcParent);
        }
        int upperFd = writer.upper().fd();

        if (src.isDirectory() && !dstParent.isPureUpper()) {
            whiteouts.markOpaque(upperFd, src.top().path());
        }
        if (exchange) {
            if (dst.isDirectory() && !srcParent.isPureUpper()) {
                whiteouts.markOpaque(upperFd, dst.top().path());
            }
            sys.renameat2(upperFd, from, upperFd, to, Linux.RENAME_EXCHANGE);
            return;
        }

        boolean leaveWhiteout = lookup.lowerPositive(srcParent, OverlayPaths.name(from));
        if (dst.isDirectory() && dst.hasUpper()) {
            writer.clearDirectory(to);
        }
        if (src.isDirectory() && dst.upperWhiteout() == Entry.UpperWhiteout.DEVICE) {
            // A directory cannot replace a device: swap them, then the whiteout is where the directory was.
            sys.renameat2(upperFd, from, upperFd, to, Linux.RENAME_EXCHANGE);
            if (!leaveWhiteout) {
                sys.unlinkat(upperFd, from, false);
            }
        } else {
            writer.rename(from, to, leaveWhiteout);
        }
        if (dst.upperWhiteout() == Entry.UpperWhiteout.AUFS_FILE) {
            whiteouts.removeWhiteoutFile(writer.upper(), to);
        }
        if (dst.hasUpper()) {
            inodes.removed(dst.top());
        }
        lowerOpenFiles.forget(to);
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
            throw FsException.of(Errno.EXDEV, "rename of a directory with lower-layer content", OverlayPaths.show(path));
        }
    }
}
