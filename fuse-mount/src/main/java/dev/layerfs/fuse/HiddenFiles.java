package dev.layerfs.fuse;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.bytes.ByteString;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.handle.PinnedFile;
import dev.layerfs.core.model.OverlayPaths;
import dev.layerfs.core.nativeio.Stat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Files unlinked while open. libfuse 2's path-based API, asked to remove an open file, renames it to a
 * {@code .fuse_hiddenNNNN} name instead and unlinks that name at the last close, so that the kernel can still
 * ask for the file's attributes by path (an fstat carries no file handle). Here that rename removes the name for
 * real, with the overlay's semantics (a whiteout where a lower layer has it), and the hidden name lives only in
 * this table, pinned to the real file: it never reaches a layer, a listing or a copy-up.
 *
 * <p>libfuse believes the hidden name is still a link of the file, so it takes one off the link count it passes
 * on for a hidden node; since the name is really gone, the count handed to libfuse for such a node is one more
 * than the real one ({@link #forLibfuse}).
 */
final class HiddenFiles {
    private static final String PREFIX = ".fuse_hidden";

    private final Overlay overlay;
    private final Map<String, Hidden> pinned = new ConcurrentHashMap<>();

    /** A hidden file: the real file, and the merged path it had when libfuse hid it. */
    private record Hidden(PinnedFile file, String path) {}

    HiddenFiles(Overlay overlay) {
        this.overlay = overlay;
    }

    /** True for the names libfuse gives files it hides. */
    static boolean isHiddenName(String path) {
        return path.substring(path.lastIndexOf('/') + 1).startsWith(PREFIX);
    }

    /**
     * libfuse's rename of an open file to a hidden name: remove the file, keep it reachable by the name. Within a
     * RENAME request libfuse hides the open target and then renames the source onto its name; there the name is
     * left for that rename, which replaces it, or does nothing where source and target are one file (two hard
     * links): removing it first would lose the source's only remaining name.
     */
    void hide(String path, String hiddenPath) throws FsException {
        PinnedFile file = overlay.pin(ByteString.trusted(path));
        if (!CurrentRequest.isRename()) {
            try {
                overlay.unlink(ByteString.trusted(path));
            } catch (FsException e) {
                file.close();
                throw e;
            }
        }
        pinned.put(hiddenPath, new Hidden(file, OverlayPaths.normalize(path)));
    }

    /** The attributes of a hidden file, or null where the name is not one. */
    Stat stat(String hiddenPath) throws FsException {
        Hidden h = pinned.get(hiddenPath);
        return h == null ? null : overlay.fstat(h.file());
    }

    /**
     * True where an open file's node is one libfuse hid: it was opened at the path of a hidden file and is that
     * file. (A handle opened through another name of the same file has a node of its own, which is not hidden.)
     */
    boolean isHidden(OpenFile f, Stat st) throws FsException {
        if (pinned.isEmpty()) {
            return false;
        }
        for (Hidden h : pinned.values()) {
            if (h.path().equals(f.path())) {
                Stat hs = overlay.fstat(h.file());
                if (hs.dev() == st.dev() && hs.ino() == st.ino()) {
                    return true;
                }
            }
        }
        return false;
    }

    /** The link count to hand libfuse for a hidden node: it subtracts the hidden name it thinks still exists. */
    static long forLibfuse(long nlink) {
        return nlink + 1;
    }

    /** libfuse's unlink at the last close; false where the name is not a hidden file. */
    boolean forget(String hiddenPath) {
        Hidden h = pinned.remove(hiddenPath);
        if (h == null) {
            return false;
        }
        h.file().close();
        return true;
    }
}
