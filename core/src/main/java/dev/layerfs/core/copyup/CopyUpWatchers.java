package dev.layerfs.core.copyup;

import dev.layerfs.core.nativeio.Stat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Who is told of each copy-up: the engine's own listener first (files open on the lower copy move to the upper),
 * then every watcher registered since (a transport that tells the kernel its cached attributes and pages of the
 * path are gone). Watchers are also told of a merged directory's origin recorded at lookup, which changes what
 * a copy-up changes (the inode number, the parent's listing). Watchers run on the thread that copied up, with the
 * overlay's lock held: they must not call back into the overlay or block.
 */
public final class CopyUpWatchers implements CopyUpListener {
    private final CopyUpListener engine;
    private final List<CopyUpListener> watchers = new CopyOnWriteArrayList<>();

    public CopyUpWatchers(CopyUpListener engine) {
        this.engine = engine;
    }

    public void add(CopyUpListener watcher) {
        watchers.add(watcher);
    }

    /** Watchers see it as a copy-up: what was cached of the path (its inode number, its parent's listing) changed. */
    @Override
    public void originRecorded(String path) {
        for (CopyUpListener w : watchers) {
            w.copiedUp(path);
        }
    }

    @Override
    public void copiedUp(String path) {
        engine.copiedUp(path);
        for (CopyUpListener w : watchers) {
            w.copiedUp(path);
        }
    }

    /** Only the engine's open files care: nothing a transport caches changed beyond what the change itself tells. */
    @Override
    public void metacopiedUp(String path) {
        engine.metacopiedUp(path);
    }

    /** Watchers hear of it as a copy-up: the other names of the lower hard link show the copy from now on. */
    @Override
    public void metacopiedUpIndexed(String path) {
        engine.metacopiedUp(path);
        for (CopyUpListener w : watchers) {
            w.copiedUp(path);
        }
    }

    /** The engine moves files open on the lower object through any of its names; watchers hear of the path. */
    @Override
    public void copiedUpInode(Stat lower, String upperPath) {
        engine.copiedUpInode(lower, upperPath);
        for (CopyUpListener w : watchers) {
            w.copiedUp(upperPath);
        }
    }
}
