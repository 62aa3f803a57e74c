package dev.layerfs.core.inode;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.lookup.RealPath;
import dev.layerfs.core.marker.PrivateXattrs;
import dev.layerfs.core.model.Layer;
import dev.layerfs.core.nativeio.FileHandle;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.Syscalls;
import java.util.Arrays;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Origin records: a copied-up object remembers, in the kernel's form ({@code overlay.origin}, see
 * {@link OriginRecord}), the lower object it came from, so that it keeps showing that object's inode number,
 * across remounts too. As the kernel's ovl_getattr does where every layer lies on one filesystem: a copied-up
 * directory, or a non-directory whose lower object had one link, shows the lower object's number; a lower hard
 * link (more than one link) is broken by its copy-up and shows the upper copy's own number.
 *
 * <p>The number shown for each upper object is cached by its upper inode number ({@link InoCache}): filled at
 * copy-up and creation, or at the first stat by name (one xattr read, and for a record one open_by_handle_at),
 * and dropped whenever the engine removes or replaces an upper name ({@link #forget}), the only way the upper
 * inode can be freed and its number reused (only layerfs changes the layers while they are mounted). A stat
 * through a descriptor reads the cache but never fills it: its object may have no name left, and nothing would
 * drop the entry before the inode is freed.
 */
public final class Origins implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Origins.class);
    private static final long MISSING = Long.MIN_VALUE;

    private final Syscalls sys = Syscalls.get();
    private final PrivateXattrs markers;
    private final Layer lower;
    private final byte[] uuid;
    private final InoCache shown = new InoCache(1 << 17);
    private volatile boolean mayDecodeHandles = true;
    /** The inodes index where index=on: an indexed upper copy of a lower hard link shows the lower number. */
    private volatile Index index;
    /** A plain descriptor of the lower layer's root (open_by_handle_at refuses O_PATH ones), opened when needed. */
    private int mountFd = -1;

    /** @param lower a lower layer, whose descriptor decodes handles of the (one) filesystem */
    Origins(PrivateXattrs markers, Layer lower) {
        this.markers = markers;
        this.lower = lower;
        byte[] fsUuid = sys.filesystemUuid(lower.fd());
        this.uuid = fsUuid == null ? OriginRecord.NULL_UUID : fsUuid;
    }

    /**
     * Records on a new upper copy (at {@code path} relative to {@code dirfd}, in the work directory) where it came
     * from. Nothing is recorded where the lower filesystem cannot make file handles.
     */
    public void record(int dirfd, String path, RealPath from) throws FsException {
        FileHandle h = sys.nameToHandle(from.layer().fd(), from.path());
        if (h != null) {
            markers.set(dirfd, path, PrivateXattrs.ORIGIN, new OriginRecord(h, uuid).encode());
        }
    }

    /** With index=on: upper copies of lower hard links that the index holds show their origin's number. */
    void useIndex(Index idx) {
        this.index = idx;
    }

    /** The origin record naming the object at {@code path} in {@code layer}, or null where it has no handle. */
    byte[] recordOf(Layer layer, String path) throws FsException {
        FileHandle h = sys.nameToHandle(layer.fd(), path);
        return h == null ? null : new OriginRecord(h, uuid).encode();
    }

    /** The record naming the upper layer's root, as the index directory keeps it ({@code overlay.upper}). */
    byte[] upperRecordOf(Layer upper) throws FsException {
        FileHandle h = sys.nameToHandle(upper.fd(), "");
        return h == null ? null : new OriginRecord(h, uuid).encode(true);
    }

    /** A copy-up into the index finished: the upper object {@code upperIno} shows its lower origin's number. */
    public void copiedUpIndexed(long upperIno, Stat from) {
        shown.put(upperIno, from.ino());
    }

    /** A new upper object, made through this overlay: it has no origin. */
    public void created(long upperIno) {
        shown.put(upperIno, upperIno);
    }

    /** A copy-up finished: the upper object {@code upperIno} came from {@code from}. */
    public void copiedUp(long upperIno, Stat from) {
        shown.put(upperIno, numberFor(upperIno, from));
    }

    /** The name of an upper object was removed or replaced: its inode may go, and its number be reused. */
    public void forget(long upperIno) {
        shown.remove(upperIno);
    }

    /** Whether the upper object at {@code path} carries an origin record. */
    boolean recorded(Layer upper, String path) throws FsException {
        return markers.getOwn(upper.fd(), path, PrivateXattrs.ORIGIN) != null;
    }

    /**
     * The number the merged view shows for the upper object at {@code path} (relative to {@code upper}), whose own
     * number is {@code ino} and file type {@code type} (the S_IFMT bits).
     */
    long of(Layer upper, String path, long ino, int type) throws FsException {
        long cached = shown.get(ino, MISSING);
        if (cached != MISSING) {
            return cached;
        }
        return resolve(ino, type, markers.getOwn(upper.fd(), path, PrivateXattrs.ORIGIN));
    }

    /** As {@link #of(Layer, String, long, int)}, for an object held by an open descriptor. */
    long ofDescriptor(int fd, Stat st) throws FsException {
        long cached = shown.get(st.ino(), MISSING);
        if (cached != MISSING) {
            return cached;
        }
        // Not cached: the object may have no name left (unlinked while open), so no removal would drop the entry
        // before its inode is freed and its number given to a new object.
        return decode(st.ino(), st.type(), markers.getOwn(fd, PrivateXattrs.ORIGIN));
    }

    /** As {@link #decode}, caching the number (for an object reached by its name, under the overlay's lock). */
    private long resolve(long ino, int type, byte[] xattr) throws FsException {
        long number = decode(ino, type, xattr);
        shown.put(ino, number);
        return number;
    }

    /** The number an origin record gives, where it is one for this filesystem; else the object's own. */
    private long decode(long ino, int type, byte[] xattr) throws FsException {
        long number = ino;
        OriginRecord origin = OriginRecord.decode(xattr);
        if (origin != null && (Arrays.equals(origin.uuid(), uuid)
                || Arrays.equals(origin.uuid(), OriginRecord.NULL_UUID))) {
            Stat from = originStat(origin);
            if (from != null && from.type() == type) {
                Index idx = index;
                number = idx != null && Index.keeps(from) && idx.holds(xattr, ino) ? from.ino() : numberFor(ino, from);
            }
        }
        return number;
    }

    private Stat originStat(OriginRecord origin) throws FsException {
        if (!mayDecodeHandles) {
            return null;
        }
        try {
            return sys.statByHandle(mountFd(), origin.handle());
        } catch (FsException e) {
            if (e.errno() != Errno.EPERM) {
                throw e;
            }
            LOG.info("cannot decode origin records ({}): copied-up objects show their own inode numbers",
                    e.getMessage());
            mayDecodeHandles = false;
            return null;
        }
    }

    private synchronized int mountFd() throws FsException {
        if (mountFd < 0) {
            mountFd = sys.openat(lower.fd(), "", Linux.O_RDONLY | Linux.O_DIRECTORY, 0);
        }
        return mountFd;
    }

    @Override
    public synchronized void close() {
        sys.close(mountFd);
        mountFd = -1;
    }

    private static long numberFor(long upperIno, Stat from) {
        return from.isDirectory() || from.nlink() == 1 ? from.ino() : upperIno;
    }
}
