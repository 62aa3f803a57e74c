package dev.layerfs.core.inode;

import dev.layerfs.core.error.FsException;
import dev.layerfs.core.lookup.RealPath;
import dev.layerfs.core.marker.DirectoryMarkers;
import dev.layerfs.core.marker.PrivateXattrs;
import dev.layerfs.core.model.ConfigException;
import dev.layerfs.core.model.Layer;
import dev.layerfs.core.model.LayerStack;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.RawDirent;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.Syscalls;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The kernel overlay's inodes index ({@code index=on}, Documentation/filesystems/overlayfs.rst "Index"), in its
 * on-disk form: {@code WORKDIR/index/<hex of the origin record>} is one more name of the upper copy of a lower
 * hard link, so every name of that lower inode, copied up or not yet, is one upper inode.
 *
 * <p>The overlay's link count of an indexed inode is kept, as the kernel keeps it, in {@code overlay.nlink} on the
 * upper inode as {@code U%+d}: the difference from the upper inode's own count (which includes the index name and
 * misses the names still only in the lower layer). Only copy-up by link changes the difference; link and unlink
 * of upper names change both counts alike. When the overlay's count reaches zero the index entry goes, as the
 * kernel's ovl_cleanup_index does without nfs_export.
 *
 * <p>At mount, as the kernel: the upper root records the topmost lower root as its origin and the index directory
 * records the upper root ({@code overlay.upper}); a mismatch means the layers were mixed up and the mount is
 * refused. Leftover temporary names and orphan entries (no name left) are removed.
 */
public final class Index implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Index.class);
    static final String DIR = "index";

    private final Syscalls sys = Syscalls.get();
    private final PrivateXattrs markers;
    private final Origins origins;
    private final Layer layer;

    private Index(PrivateXattrs markers, Origins origins, Layer layer) {
        this.markers = markers;
        this.origins = origins;
        this.layer = layer;
    }

    /**
     * Creates or checks {@code WORKDIR/index}; null, with a warning, where the lower filesystem cannot make file
     * handles (the kernel falls back to index=off there too).
     */
    public static Index prepare(LayerStack stack, PrivateXattrs markers, Origins origins) throws ConfigException {
        Syscalls sys = Syscalls.get();
        Layer upper = stack.upper().orElseThrow();
        try {
            byte[] lowerRoot = origins.recordOf(stack.topLower(), "");
            if (lowerRoot == null) {
                LOG.warn("the lower filesystem does not make file handles: falling back to index=off");
                return null;
            }
            verify(markers, upper.fd(), "", PrivateXattrs.ORIGIN, lowerRoot,
                    "index=on: the upper layer's root records another lower layer than " + stack.topLower().root()
                            + " (the kernel refuses this mount too: failed to verify upper root origin)");
            int work = stack.workFd();
            Stat st = sys.lstatIfExists(work, DIR);
            if (st != null && !st.isDirectory()) {
                sys.unlinkat(work, DIR, false);
                st = null;
            }
            if (st == null) {
                sys.mkdirat(work, DIR, 0);
            }
            int fd = sys.openat(work, DIR, Linux.O_PATH | Linux.O_DIRECTORY | Linux.O_NOFOLLOW, 0);
            Layer layer = new Layer(Layer.INODES_INDEX, stack.workDir().orElseThrow().resolve(DIR), fd, false,
                    sys.fstat(fd).dev());
            Index index = new Index(markers, origins, layer);
            try {
                byte[] upperRoot = origins.upperRecordOf(upper);
                if (upperRoot != null) {
                    verify(markers, fd, "", PrivateXattrs.UPPER, upperRoot, "index=on: the index directory "
                            + layer.root() + " belongs to another upper layer than " + upper.root()
                            + " (the kernel refuses this mount too: failed to verify index dir 'upper' xattr)");
                }
                index.cleanUp();
            } catch (ConfigException | FsException | RuntimeException e) {
                index.close();
                throw e;
            }
            return index;
        } catch (FsException e) {
            throw new ConfigException("index=on: cannot prepare " + stack.workDir().orElseThrow().resolve(DIR) + ": "
                    + e.getMessage());
        }
    }

    /** Writes {@code expected} where the object has no such record; refuses a different one. */
    private static void verify(PrivateXattrs markers, int dirfd, String path, String marker, byte[] expected,
            String refusal) throws FsException, ConfigException {
        byte[] v = markers.getOwn(dirfd, path, marker);
        if (v == null) {
            markers.set(dirfd, path, marker, expected);
        } else if (!Arrays.equals(v, expected)) {
            throw new ConfigException(refusal);
        }
    }

    /** Removes temporary names and entries no overlay name links to any more (the kernel's ovl_indexdir_cleanup). */
    private void cleanUp() throws FsException {
        for (RawDirent d : sys.readdir(layer.fd(), "")) {
            String name = d.name();
            Stat st = sys.lstatIfExists(layer.fd(), name);
            if (st == null || st.isDirectory()) {
                // Directories are indexed only with nfs_export, which layerfs does not implement.
                continue;
            }
            boolean temporary = name.startsWith("#");
            boolean whiteout = st.isCharDevice() && st.rdev() == 0;
            boolean orphan = st.nlink() == 1 && shownNlink(layer.fd(), name, st) <= 0;
            if (temporary || whiteout || orphan) {
                sys.unlinkat(layer.fd(), name, false);
            }
        }
    }

    /** The index directory, as the pseudo-layer that the real paths of index entries refer to. */
    public Layer layer() {
        return layer;
    }

    /** The index entry's name for a lower object (hex of its origin record, ovl_get_index_name), or null. */
    public String nameFor(RealPath lower) throws FsException {
        byte[] record = origins.recordOf(lower.layer(), lower.path());
        return record == null ? null : HexFormat.of().formatHex(record);
    }

    /** The name of the index entry an origin record designates. */
    static String nameFor(byte[] record) {
        return HexFormat.of().formatHex(record);
    }

    /** Whether a lower object is one the index keeps: a non-directory with more than one link (ovl_need_index). */
    public static boolean keeps(Stat lower) {
        return !lower.isDirectory() && lower.nlink() > 1;
    }

    /**
     * The index entry of a lower hard link whose name has no upper copy yet, where another of its names was
     * copied up: the merged view shows that upper inode (the kernel's ovl_lookup uses the index as upper).
     */
    public RealPath find(RealPath lower) throws FsException {
        if (!keeps(lower.stat())) {
            return null;
        }
        String name = nameFor(lower);
        if (name == null) {
            return null;
        }
        Stat st = sys.lstatIfExists(layer.fd(), name);
        if (st == null || st.type() != lower.stat().type()) {
            return null;
        }
        boolean metacopy = st.isRegularFile() && markers.getOwn(layer.fd(), name, PrivateXattrs.METACOPY) != null;
        return new RealPath(layer, name, st, metacopy ? DirectoryMarkers.metacopyFile(null) : DirectoryMarkers.NONE);
    }

    /** Whether {@code name} exists in the index. */
    public boolean has(String name) throws FsException {
        return sys.lstatIfExists(layer.fd(), name) != null;
    }

    /** Whether the upper inode {@code upperIno} is the index entry of the lower object of origin record {@code record}. */
    boolean holds(byte[] record, long upperIno) throws FsException {
        Stat st = sys.lstatIfExists(layer.fd(), nameFor(record));
        return st != null && st.ino() == upperIno;
    }

    /**
     * Makes a new upper copy (at {@code tmp} in the work directory, {@code workFd}) of a lower object with
     * {@code lowerNlink} names the index entry {@code name}: its overlay link count is the lower one, once it is
     * linked to its first upper name.
     */
    public void adopt(int workFd, String tmp, String name, long lowerNlink) throws FsException {
        markers.set(workFd, tmp, PrivateXattrs.NLINK, nlinkValue(lowerNlink - 2));
        sys.renameat2(workFd, tmp, layer.fd(), name, Linux.RENAME_NOREPLACE);
    }

    /** Links a name of the upper layer to the index entry {@code name} (a copy-up of another name of it). */
    public void linkUp(String name, int upperFd, String path, boolean counted) throws FsException {
        sys.linkat(layer.fd(), name, upperFd, path);
        if (counted) {
            int diff = nlinkDiff(markers.getOwn(layer.fd(), name, PrivateXattrs.NLINK));
            markers.set(layer.fd(), name, PrivateXattrs.NLINK, nlinkValue(diff - 1));
        }
    }

    /**
     * The index entry the upper object at {@code path} is a name of, or null: read before a name of it is removed
     * so that {@link #released} can tell whether it was the last.
     */
    public String entryOf(Layer upper, String path, Stat st) throws FsException {
        if (st.isDirectory() || st.nlink() < 2 || markers.getOwn(upper.fd(), path, PrivateXattrs.NLINK) == null) {
            return null;
        }
        byte[] record = markers.getOwn(upper.fd(), path, PrivateXattrs.ORIGIN);
        return record == null ? null : nameFor(record);
    }

    /** A name of an indexed inode is gone: where it was the overlay's last, the index entry goes too. */
    public void released(String name) throws FsException {
        if (name == null) {
            return;
        }
        Stat st = sys.lstatIfExists(layer.fd(), name);
        if (st != null && shownNlink(layer.fd(), name, st) <= 0) {
            sys.unlinkat(layer.fd(), name, false);
        }
    }

    /**
     * The link count the overlay shows for a non-directory of the upper layer or the index (at {@code path}
     * relative to {@code dirfd}): its own, corrected by {@code overlay.nlink} where it is indexed (ovl_get_nlink).
     */
    public long shownNlink(int dirfd, String path, Stat st) throws FsException {
        if (st.isDirectory() || st.nlink() < 1) {
            return st.nlink();
        }
        return shown(st, markers.getOwn(dirfd, path, PrivateXattrs.NLINK));
    }

    /** As {@link #shownNlink(int, String, Stat)}, for the object an open descriptor holds. */
    public long shownNlink(int fd, Stat st) throws FsException {
        if (st.isDirectory() || st.nlink() < 1) {
            return st.nlink();
        }
        return shown(st, markers.getOwn(fd, PrivateXattrs.NLINK));
    }

    private static long shown(Stat st, byte[] xattr) {
        if (xattr == null || xattr.length < 2 || xattr[0] != 'U') {
            // The "L" form counts from the lower inode; layerfs never writes it and shows the upper count there.
            return st.nlink();
        }
        long n = st.nlink() + nlinkDiff(xattr);
        return n < 0 ? 0 : n;
    }

    /** The difference a {@code U%+d} value holds; 0 where it is not one. */
    private static int nlinkDiff(byte[] xattr) {
        if (xattr == null || xattr.length < 2 || xattr[0] != 'U') {
            return 0;
        }
        try {
            return Integer.parseInt(new String(xattr, 1, xattr.length - 1, StandardCharsets.US_ASCII));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static byte[] nlinkValue(long diff) {
        return String.format("U%+d", diff).getBytes(StandardCharsets.US_ASCII);
    }

    @Override
    public void close() {
        sys.close(layer.fd());
    }
}
