package dev.layerfs.core.ops;

import dev.layerfs.core.copyup.CopyUp;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.handle.OpenFiles;
import dev.layerfs.core.lookup.Entry;
import dev.layerfs.core.lookup.Lookup;
import dev.layerfs.core.model.LayerStack;
import dev.layerfs.core.model.OverlayPaths;
import dev.layerfs.core.readdir.MergedDirectory;
import dev.layerfs.core.whiteout.WhiteoutCodec;

/**
 * The parts every operation works with, wired once per overlay. {@code copyUp} and {@code writer} are null for
 * a read-only stack; {@link #requireWritable} says EROFS before anything else is tried.
 */
public record Engine(LayerStack stack, Lookup lookup, WhiteoutCodec whiteouts, MergedDirectory directories,
        OpenFiles openFiles, CopyUp copyUp, UpperWriter writer) {

    public void requireWritable(String op, String path) throws FsException {
        stack.requireUpper(op, "/" + path);
    }

    /** The directory a new name goes into, which must exist and be a directory, copied up. */
    Entry upperParentOf(String path, String op) throws FsException {
        Entry parent = lookup.resolve(OverlayPaths.parent(path)).requireDirectory(op);
        return copyUp.ensureUpperDirectory(parent);
    }
}
