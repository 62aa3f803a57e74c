package dev.layerfs.core.copyup;

/** Told when a merged path has been copied up, so that files open on the lower copy can move to the upper. */
@FunctionalInterface
public interface CopyUpListener {
    void copiedUp(String path);
}
