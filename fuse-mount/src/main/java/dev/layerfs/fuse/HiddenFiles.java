package dev.layerfs.fuse;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.handle.PinnedFile;
import dev.layerfs.core.nativeio.Stat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Files unlinked while open. libfuse 2's path-based API, asked to remove an open file, renames it to a
 * {@code .fuse_hiddenNNNN} name instead and unlinks that name at the last close, so that the kernel can still
 * ask for the file's attributes by path (an fstat carries no file handle). Here that rename removes the name for
 * real, with the overlay's semantics (a whiteout where a lower layer has it), and the hidden name lives only in
 * this table, pinned to the real file: it never reaches a layer, a listing or a copy-up.
 */
final class HiddenFiles {
    private static final String PREFIX = ".fuse_hidden";

    private final Overlay overlay;
    private final Map<String, PinnedFile> pinned = new ConcurrentHashMap<>();

    HiddenFiles(Overlay overlay) {
        this.overlay = overlay;
    }

    /** True for the names libfuse gives files it hides. */
    static boolean isHiddenName(String path) {
        return path.substring(path.lastIndexOf('/') + 1).startsWith(PREFIX);
    }

    /** libfuse's rename of an open file to a hidden name: remove the file, keep it reachable by the name. */
    void hide(String path, String hiddenPath) throws FsException {
        PinnedFile file = overlay.pin(path);
        try {
            overlay.unlink(path);
        } catch (FsException e) {
            file.close();
            throw e;
        }
        pinned.put(hiddenPath, file);
    }

    /** The attributes of a hidden file, or null where the name is not one. */
    Stat stat(String hiddenPath) throws FsException {
        PinnedFile file = pinned.get(hiddenPath);
        return file == null ? null : overlay.fstat(file);
    }

    /** libfuse's unlink at the last close; false where the name is not a hidden file. */
    boolean forget(String hiddenPath) {
        PinnedFile file = pinned.remove(hiddenPath);
        if (file == null) {
            return false;
        }
        file.close();
        return true;
    }
}
