package dev.layerfs.core.ops;

import dev.layerfs.core.copyup.CopyUp;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.handle.LowerOpenFiles;
import dev.layerfs.core.inode.Index;
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
 * rename(2) and renameat2 with RENAME_NOREPLACE or RENAME_EXCHANGE, as the kernel overlay does it: files are
 * copied up and moved, leaving a whiteout where a lower layer still has the old name. A directory the upper layer
 * alone holds moves, and becomes opaque when moved into a merged directory, so nothing of the lower layers shows
 * through it. A merged or lower directory moves with redirect_dir=on: it is copied up (itself, not its content)
 * and its upper copy records where its lower content lives in {@code overlay.redirect}, as the kernel writes it
 * (its old name for a rename within its directory, else its absolute path in the lower layers); without
 * redirect_dir=on it is EXDEV, so that tools fall back to copying. With metacopy=on a lower file is copied up
 * metadata only and gets a redirect to its data the same way. An object with an origin record moved into another
 * directory marks that directory impure.
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
    /** The inodes index where index=on, else null. */
    private volatile Index index;
    private final boolean redirects;
    private final Redirects redirector;
    private final Syscalls sys = Syscalls.get();

    public Rename(LayerStack stack, Lookup lookup, CopyUp copyUp, UpperWriter writer, MergedDirectory directories,
            WhiteoutCodec whiteouts, LowerOpenFiles lowerOpenFiles, InodeNumbers inodes) {
        this(stack, lookup, copyUp, writer, directories, whiteouts, lowerOpenFiles, inodes, false);
    }

    /** @param redirects redirect_dir=on: merged and lower directories move, with a redirect */
    public Rename(LayerStack stack, Lookup lookup, CopyUp copyUp, UpperWriter writer, MergedDirectory directories,
            WhiteoutCodec whiteouts, LowerOpenFiles lowerOpenFiles, InodeNumbers inodes, boolean redirects) {
        this.redirects = redirects;
        this.redirector = new Redirects(writer, whiteouts);
        this.stack = stack;
        this.lookup = lookup;
        this.copyUp = copyUp;
        this.writer = writer;
        this.directories = directories;
        this.whiteouts = whiteouts;
        this.lowerOpenFiles = lowerOpenFiles;
        this.inodes = inodes;
    }

    /**
     * With index=on: names of one lower hard link are one inode (a rename between them does nothing), and a target
     * that is a name of a lower hard link is copied up through the index before it is replaced, as the kernel's
     * ovl_nlink_start, so the overlay's link count goes down with it.
     */
    public void useIndex(Index idx) {
        this.index = idx;
    }

    /**
     * Renames {@code from} to {@code to}. Returns false where the two are one object (one name, or two names of one
     * inode, see {@link #sameFile}): nothing changes, as the VFS answers source == target; true otherwise.
     */
    public boolean rename(String from, String to, int flags) throws FsException {
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
        if (from.equals(to) || sameFile(src, dst, index != null)) {
            return false;
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
            if (redirects && src.isDirectory() && !src.isPureUpper()) {
                failAsTheKernel(src, dst, from, to);
            }
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
        copyUp.copyUpMetadata(lookup.resolve(from));
        if (exchange) {
            copyUp.copyUpMetadata(lookup.resolve(to));
        } else if (index != null && dst.exists() && !dst.hasUpper() && !dst.isDirectory()
                && Index.keeps(dst.bottom().stat())) {
            copyUp.copyUpMetadata(lookup.resolve(to));
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

        if (src.isDirectory()) {
            if (!src.isPureUpper()) {
                redirector.set(src, sameDir);
            } else if (!dstParent.isPureUpper()) {
                whiteouts.markOpaque(upperFd, src.top().path());
            }
        } else if (src.isMetacopy()) {
            redirector.set(src, sameDir);
        }
        if (exchange) {
            if (dst.isDirectory()) {
                if (!dst.isPureUpper()) {
                    redirector.set(dst, sameDir);
                } else if (!srcParent.isPureUpper()) {
                    whiteouts.markOpaque(upperFd, dst.top().path());
                }
            } else if (dst.isMetacopy()) {
                redirector.set(dst, sameDir);
            }
            sys.renameat2(upperFd, from, upperFd, to, Linux.RENAME_EXCHANGE);
            lowerOpenFiles.moved(from, to, true);
            return true;
        }

        boolean leaveWhiteout = lookup.lowerPositive(srcParent, OverlayPaths.name(from));
        String dstIndexEntry = index != null && dst.hasUpper() && !dst.isDirectory()
                ? index.entryOf(dst.top().layer(), dst.top().path(), dst.stat()) : null;
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
        if (dstIndexEntry != null) {
            index.released(dstIndexEntry);
        }
        lowerOpenFiles.forget(to);
        lowerOpenFiles.moved(from, to, false);
        return true;
    }

    /**
     * A directory with lower content renamed onto a directory that is not empty, with redirect_dir=on. A target
     * with lower content the kernel finds not empty first (nothing changes). A target the upper layer alone holds
     * it leaves to the upper file system's rename, by which time it has copied the source and the target's parent
     * up, marked that parent impure and written the source's redirect. The source then shows as merged (one
     * link), so the view depends on it: this does the same, and the caller answers ENOTEMPTY.
     */
    private void failAsTheKernel(Entry src, Entry dst, String from, String to) throws FsException {
        if (!dst.isPureUpper()) {
            return;
        }
        boolean srcWasLower = !src.hasUpper();
        copyUp.copyUpMetadata(lookup.resolve(from));
        copyUp.ensureUpperDirectory(lookup.resolve(OverlayPaths.parent(to)));
        boolean sameDir = OverlayPaths.parent(from).equals(OverlayPaths.parent(to));
        if (!sameDir && (srcWasLower || inodes.hasOrigin(writer.upper(), from))) {
            copyUp.markImpure(lookup.resolve(OverlayPaths.parent(to)));
        }
        redirector.set(lookup.child(lookup.resolve(OverlayPaths.parent(from)), OverlayPaths.name(from)), sameDir);
    }

    /**
     * Two names of one upper file (hard links in the upper layer): one inode to the kernel overlay, so, as the VFS
     * does for source == target, rename does nothing and succeeds. Hard links in a lower layer are separate
     * inodes to the kernel overlay without index=on: there the rename happens (copying up, which breaks the link);
     * with index=on ({@code indexed}) they are one inode too, copied up or not.
     */
    private static boolean sameFile(Entry src, Entry dst, boolean indexed) {
        if (!src.exists() || !dst.exists() || src.isDirectory() || dst.isDirectory()) {
            return false;
        }
        if (!indexed && (!src.hasUpper() || !dst.hasUpper())) {
            return false;
        }
        return src.top().stat().dev() == dst.top().stat().dev() && src.top().stat().ino() == dst.top().stat().ino();
    }

    /**
     * Directories with lower content move only with redirect_dir=on; without it only those the upper layer alone
     * holds (the kernel's ovl_can_move).
     */
    private void requireMovable(Entry e, String path) throws FsException {
        if (!redirects && e.isDirectory() && !e.isPureUpper()) {
            throw FsException.of(Errno.EXDEV, "rename of a directory with lower-layer content",
                    OverlayPaths.show(path));
        }
    }
}
