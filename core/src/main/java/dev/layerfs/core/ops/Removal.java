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
import dev.layerfs.core.readdir.MergedDirectory;

/**
 * unlink and rmdir. Where a lower layer still has the name, a whiteout takes its place in the upper layer; an
 * rmdir is refused unless the merged view of the directory is empty, and the whiteouts the upper directory
 * held go with it.
 */
public final class Removal {
    private final LayerStack stack;
    private final Lookup lookup;
    private final CopyUp copyUp;
    private final UpperWriter writer;
    private final MergedDirectory directories;
    private final LowerOpenFiles lowerOpenFiles;
    private final InodeNumbers inodes;
    /** The inodes index where index=on, else null. */
    private volatile Index index;

    public Removal(LayerStack stack, Lookup lookup, CopyUp copyUp, UpperWriter writer, MergedDirectory directories,
            LowerOpenFiles lowerOpenFiles, InodeNumbers inodes) {
        this.stack = stack;
        this.lookup = lookup;
        this.copyUp = copyUp;
        this.writer = writer;
        this.directories = directories;
        this.lowerOpenFiles = lowerOpenFiles;
        this.inodes = inodes;
    }

    /** With index=on: removing a name of an indexed inode keeps the overlay's link count, and the last drops the entry. */
    public void useIndex(Index idx) {
        this.index = idx;
    }

    public void unlink(String path) throws FsException {
        stack.requireUpper("unlink", OverlayPaths.show(path));
        Entry e = lookup.resolve(path).requireExists("unlink");
        if (e.isDirectory()) {
            throw FsException.of(Errno.EISDIR, "unlink", OverlayPaths.show(path));
        }
        remove(e, false);
    }

    public void rmdir(String path) throws FsException {
        stack.requireUpper("rmdir", OverlayPaths.show(path));
        Entry e = lookup.resolve(path).requireDirectory("rmdir");
        if (e.isRoot()) {
            throw FsException.of(Errno.EBUSY, "rmdir", "/");
        }
        if (!directories.isEmpty(e)) {
            throw FsException.of(Errno.ENOTEMPTY, "rmdir", OverlayPaths.show(path));
        }
        remove(e, true);
    }

    private void remove(Entry e, boolean directory) throws FsException {
        Index idx = index;
        if (idx != null && !e.hasUpper() && !e.isDirectory() && Index.keeps(e.bottom().stat())) {
            // As the kernel's ovl_nlink_start: a name of a lower hard link is copied up (into the index, or linked
            // to it) before it is whited out, so that the overlay's link count, kept on the upper inode, goes down
            // with it. Metadata only where metacopy=on allows, as there.
            e = copyUp.copyUpMetadata(e);
        }
        Entry parent = copyUp.ensureUpperDirectory(e.parent());
        boolean whiteout = lookup.lowerPositive(parent, OverlayPaths.name(e.path()));
        if (e.hasUpper()) {
            String indexEntry = idx != null && !directory ? idx.entryOf(e.top().layer(), e.top().path(), e.stat())
                    : null;
            writer.remove(e.path(), directory, whiteout);
            inodes.removed(e.top());
            if (indexEntry != null) {
                idx.released(indexEntry);
            }
        } else {
            writer.whiteout(e.path());
        }
        lowerOpenFiles.forget(e.path());
    }
}
