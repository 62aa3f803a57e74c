package dev.layerfs.core.inode;

import dev.layerfs.core.error.FsException;
import dev.layerfs.core.lookup.Entry;
import dev.layerfs.core.lookup.RealPath;
import dev.layerfs.core.marker.PrivateXattrs;
import dev.layerfs.core.model.Layer;
import dev.layerfs.core.model.LayerStack;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.FileHandle;
import dev.layerfs.core.nativeio.Syscalls;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The inode numbers the merged view reports (st_ino, and d_ino in listings), by the kernel overlay's rules.
 *
 * <p>A lower object shows its own number; a merged directory (other than the root) shows its topmost lower
 * directory's; an upper object shows the number its {@link Origins origin record} gives, so a copy-up changes
 * nothing a program can see; the root and pure upper objects show their own.
 *
 * <p>Where every layer lies on one filesystem, real numbers are unique already and are shown as they are. Where
 * layers span filesystems, numbers are composed as the kernel's xino does it (ovl_map_ino): the upper layer's
 * filesystem is fsid 0 and each other filesystem of the lower layers, in their order, the next fsid; a real number
 * shows as {@code ino | fsid << (64 - xinoBits + 1)}, where xinoBits is 32 when every layer's filesystem makes
 * the generic 32-bit handles (FILEID_INO32_GEN of 8 bytes, as ext4's), else the bits the fsids need plus one (ilog2(numfs - 1) + 2). A
 * number too wide for that (its top xinoBits bits in use) is shown as it is, as the kernel does for a
 * non-directory. A FUSE file system has one st_dev, so xino=off across filesystems (where the kernel shows each
 * layer's st_dev) composes the same way.
 */
public final class InodeNumbers implements AutoCloseable {
    /** name_to_handle_at's type for 32-bit inode numbers with a generation (FILEID_INO32_GEN). */
    private static final int FILEID_INO32_GEN = 1;

    private final Map<Long, Integer> fsids = new HashMap<>();
    /** The bits the fsid takes at the top of a number (0 where every layer lies on one filesystem). */
    private final int xinoBits;
    private final Optional<Origins> origins;

    public InodeNumbers(LayerStack stack, PrivateXattrs markers) {
        Optional<Layer> upper = stack.upper();
        upper.ifPresent(u -> fsids.put(u.dev(), 0));
        int first = upper.isPresent() ? 0 : 1;
        for (Layer l : stack.layers()) {
            if (!fsids.containsKey(l.dev())) {
                fsids.put(l.dev(), fsids.size() + first);
            }
        }
        this.xinoBits = fsids.size() == 1 ? 0 : xinoBits(stack, fsids.size() + first);
        this.origins = upper.isPresent() ? Optional.of(new Origins(markers, stack, this::mapped)) : Optional.empty();
    }

    /** The kernel's xino_mode where layers span filesystems: 32, or the fsid's bits plus one. */
    private static int xinoBits(LayerStack stack, int numfs) {
        Syscalls sys = Syscalls.get();
        boolean all32 = true;
        for (Layer l : stack.layers()) {
            try {
                FileHandle h = sys.nameToHandle(l.fd(), "");
                // The kernel asks whether the filesystem encodes handles with the generic 32-bit encoder; its
                // handles are the ones of that type and size (tmpfs's, of the same type, are 12 bytes).
                all32 &= h != null && h.type() == FILEID_INO32_GEN && h.bytes().length == 8;
            } catch (FsException e) {
                all32 = false;
            }
        }
        return all32 ? 32 : 63 - Long.numberOfLeadingZeros(numfs - 1) + 2;
    }

    /** The origin records, where the stack keeps them (an upper layer on the lowers' filesystem). */
    public Optional<Origins> origins() {
        return origins;
    }

    /** With index=on: indexed upper copies of lower hard links show their lower numbers. */
    public void useIndex(Index index) {
        origins.ifPresent(o -> o.useIndex(index));
    }

    /** The number shown for an existing entry. */
    public long of(Entry e) throws FsException {
        RealPath top = e.top();
        if (top.layer().isInodesIndex()) {
            // A lower hard link whose upper copy is reached through the index: its lower number, as every name.
            RealPath lower = e.reals().get(1);
            return mapped(lower.layer(), lower.stat().ino());
        }
        if (!e.isRoot() && e.isDirectory() && e.reals().size() > 1 && top.isUpper()) {
            RealPath lower = e.reals().get(1);
            return mapped(lower.layer(), lower.stat().ino());
        }
        return of(top.layer(), top.path(), top.stat());
    }

    /** The number shown for a real object found at {@code path} in {@code layer} (not a merged directory). */
    public long of(Layer layer, String path, Stat st) throws FsException {
        return of(layer, path, st.ino(), st.type());
    }

    /** As {@link #of(Layer, String, Stat)}, from a directory entry's number and type (S_IFMT bits). */
    public long of(Layer layer, String path, long ino, int type) throws FsException {
        // The root shows its own number, though with index=on the upper root records its lower root as origin.
        if (layer.upper() && origins.isPresent() && !path.isEmpty()) {
            return origins.get().of(layer, path, ino, type);
        }
        return mapped(layer, ino);
    }

    /** The number shown for a file this overlay has just created (it has no origin record to read). */
    public long ofCreated(Layer layer, Stat st) {
        if (layer.upper() && origins.isPresent()) {
            origins.get().created(st.ino());
        }
        return mapped(layer, st.ino());
    }

    /** The number shown for the object an open descriptor on {@code layer} holds. */
    public long ofDescriptor(Layer layer, int fd, Stat st) throws FsException {
        if (layer.upper() && origins.isPresent()) {
            return origins.get().ofDescriptor(fd, st);
        }
        return mapped(layer, st.ino());
    }

    /** A real number of a layer as shown, without origin records (a lower object's, or a directory's). */
    public long mapped(Layer layer, long realIno) {
        if (xinoBits == 0) {
            return realIno;
        }
        int shift = 64 - xinoBits;
        if (realIno >>> shift != 0) {
            return realIno;
        }
        Integer fsid = fsids.get(layer.dev());
        return fsid == null ? realIno : realIno | (long) fsid << (shift + 1);
    }

    /** An upper object's name was removed or replaced: what is cached about its number may no longer hold. */
    public void removed(RealPath upperObject) {
        if (upperObject.isUpper()) {
            origins.ifPresent(o -> o.forget(upperObject.stat().ino()));
        }
    }

    /** Whether the upper object at {@code path} carries an origin record (it or its data came from a lower layer). */
    public boolean hasOrigin(Layer upper, String path) throws FsException {
        return origins.isPresent() && origins.get().recorded(upper, path);
    }

    @Override
    public void close() {
        origins.ifPresent(Origins::close);
    }
}
