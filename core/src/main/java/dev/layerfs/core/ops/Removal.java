package dev.layerfs.core.ops;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.lookup.Entry;
import dev.layerfs.core.model.OverlayPaths;

/**
 * unlink and rmdir. Where a lower layer still has the name, a whiteout takes its place in the upper layer; an
 * rmdir is refused unless the merged view of the directory is empty, and the whiteouts the upper directory
 * held go with it.
 */
public final class Removal {
    private final Engine engine;

    public Removal(Engine engine) {
        this.engine = engine;
    }

    public void unlink(String path) throws FsException {
        engine.requireWritable("unlink", path);
        Entry e = engine.lookup().resolve(path).requireExists("unlink");
        if (e.isDirectory()) {
            throw FsException.of(Errno.EISDIR, "unlink", "/" + path);
        }
        remove(e, false);
    }

    public void rmdir(String path) throws FsException {
        engine.requireWritable("rmdir", path);
        Entry e = engine.lookup().resolve(path).requireDirectory("rmdir");
        if (e.isRoot()) {
            throw FsException.of(Errno.EBUSY, "rmdir", "/");
        }
        if (!engine.directories().isEmpty(e)) {
            throw FsException.of(Errno.ENOTEMPTY, "rmdir", "/" + path);
        }
        remove(e, true);
    }

    private void remove(Entry e, boolean directory) throws FsException {
        Entry parent = engine.copyUp().ensureUpperDirectory(e.parent());
        boolean whiteout = engine.lookup().lowerPositive(parent, OverlayPaths.name(e.path()));
        if (e.hasUpper()) {
            engine.writer().remove(e.path(), directory, whiteout);
        } else {
            engine.writer().whiteout(e.path());
        }
        engine.openFiles().forget(e.path());
    }
}
