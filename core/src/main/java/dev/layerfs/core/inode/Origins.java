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
import dev.layerfs.core.model.LayerStack;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Origin records: a copied-up object remembers, in the kernel's form ({@code overlay.origin}, see
 * {@link OriginRecord}), the lower object it came from, so that it keeps showing that object's inode number,
 * across remounts too. As the kernel's ovl_getattr: a copied-up directory, or a non-directory whose lower object
 * had one link, shows the lower object's number (composed by xino where layers span filesystems); a lower hard
 * link (more than one link) is broken by its copy-up and shows the upper copy's own number, unless the inodes
 * index ({@link Index}, index=on) holds it. A record names its filesystem by UUID and is decoded on the lower
 * filesystem with that UUID.
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
    /** One lower layer of each filesystem the lower layers lie on, topmost first: they decode its handles. */
    private final List<Layer> lowerFilesystems = new ArrayList<>();
    /** Each layer filesystem's UUID (by st_dev), the null UUID where the filesystem tells none. */
    private final Map<Long, byte[]> uuids = new HashMap<>();
    private final Numbering numbering;
    private final InoCache shown = new InoCache(1 << 17);
    private volatile boolean mayDecodeHandles = true;
    /** The inodes index where index=on: an indexed upper copy of a lower hard link shows the lower number. */
    private volatile Index index;
    /** Plain descriptors of the lower filesystems' layer roots (open_by_handle_at refuses O_PATH ones), by st_dev. */
    private final Map<Long, Integer> mountFds = new HashMap<>();

    /** How a real number of a layer is shown (the xino composition of {@link InodeNumbers}). */
    interface Numbering {
        long shown(Layer layer, long realIno);
    }

    Origins(PrivateXattrs markers, LayerStack stack, Numbering numbering) {
        this.markers = markers;
        this.numbering = numbering;
        for (Layer l : stack.layers()) {
            if (!uuids.containsKey(l.dev())) {
                byte[] fsUuid = sys.filesystemUuid(l.fd());
                uuids.put(l.dev(), fsUuid == null ? OriginRecord.NULL_UUID : fsUuid);
                if (!l.upper()) {
                    lowerFilesystems.add(l);
                }
            } else if (!l.upper() && lowerFilesystems.stream().noneMatch(f -> f.dev() == l.dev())) {
                lowerFilesystems.add(l);
            }
        }
    }

    /**
     * Records on a new upper copy (at {@code path} relative to {@code dirfd}, in the work directory) where it came
     * from. Nothing is recorded where the lower filesystem cannot make file handles.
     */
    public void record(int dirfd, String path, RealPath from) throws FsException {
        byte[] record = recordOf(from.layer(), from.path());
        if (record != null) {
            markers.set(dirfd, path, PrivateXattrs.ORIGIN, record);
        }
    }

    /** As {@link #record(int, String, RealPath)}, on the new copy an open descriptor (not O_PATH) holds. */
    public void record(int fd, RealPath from) throws FsException {
        byte[] record = recordOf(from.layer(), from.path());
        if (record != null) {
            markers.set(fd, PrivateXattrs.ORIGIN, record);
        }
    }

    /** With index=on: upper copies of lower hard links that the index holds show their origin's number. */
    void useIndex(Index idx) {
        this.index = idx;
    }

    /** The origin record naming the object at {@code path} in {@code layer}, or null where it has no handle. */
    byte[] recordOf(Layer layer, String path) throws FsException {
        FileHandle h = sys.nameToHandle(layer.fd(), path);
        return h == null ? null : new OriginRecord(h, uuids.get(layer.dev())).encode();
    }

    /** The record naming the upper layer's root, as the index directory keeps it ({@code overlay.upper}). */
    byte[] upperRecordOf(Layer upper) throws FsException {
        FileHandle h = sys.nameToHandle(upper.fd(), "");
        return h == null ? null : new OriginRecord(h, uuids.get(upper.dev())).encode(true);
    }

    /** A copy-up into the index finished: the upper object {@code upperIno} shows its lower origin's number. */
    public void copiedUpIndexed(long upperIno, RealPath from) {
        shown.put(upperIno, numbering.shown(from.layer(), from.stat().ino()));
    }

    /** A new upper object, made through this overlay: it has no origin. */
    public void created(long upperIno) {
        shown.put(upperIno, upperIno);
    }

    /** A copy-up finished: the upper object {@code upperIno} came from {@code from}. */
    public void copiedUp(long upperIno, RealPath from) {
        shown.put(upperIno, numberFor(upperIno, from.layer(), from.stat()));
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

    /** The number an origin record gives, where it names an object of a lower filesystem; else the object's own. */
    private long decode(long ino, int type, byte[] xattr) throws FsException {
        OriginRecord origin = OriginRecord.decode(xattr);
        if (origin == null) {
            return ino;
        }
        for (Layer fs : lowerFilesystems) {
            // A record without a UUID (written where the filesystem tells none) is tried where only one could be.
            boolean candidate = Arrays.equals(origin.uuid(), uuids.get(fs.dev()))
                    || Arrays.equals(origin.uuid(), OriginRecord.NULL_UUID) && lowerFilesystems.size() == 1;
            if (!candidate) {
                continue;
            }
            Stat from = originStat(fs, origin);
            if (from != null) {
                if (from.type() != type) {
                    return ino;
                }
                Index idx = index;
                return idx != null && Index.keeps(from) && idx.holds(xattr, ino) ? numbering.shown(fs, from.ino())
                        : numberFor(ino, fs, from);
            }
        }
        return ino;
    }

    private Stat originStat(Layer fs, OriginRecord origin) throws FsException {
        if (!mayDecodeHandles) {
            return null;
        }
        try {
            return sys.statByHandle(mountFd(fs), origin.handle());
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

    private synchronized int mountFd(Layer fs) throws FsException {
        Integer fd = mountFds.get(fs.dev());
        if (fd == null) {
            fd = sys.openat(fs.fd(), "", Linux.O_RDONLY | Linux.O_DIRECTORY, 0);
            mountFds.put(fs.dev(), fd);
        }
        return fd;
    }

    @Override
    public synchronized void close() {
        mountFds.values().forEach(sys::close);
        mountFds.clear();
    }

    /**
     * As the kernel's ovl_getattr without the index: a directory, or a file whose lower object had one link, shows
     * its origin's number; a broken lower hard link shows the upper copy's own.
     */
    private long numberFor(long upperIno, Layer fs, Stat from) {
        return from.isDirectory() || from.nlink() == 1 ? numbering.shown(fs, from.ino()) : upperIno;
    }
}
