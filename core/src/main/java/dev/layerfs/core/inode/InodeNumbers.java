package dev.layerfs.core.inode;

import dev.layerfs.core.error.FsException;
import dev.layerfs.core.lookup.Entry;
import dev.layerfs.core.lookup.RealPath;
import dev.layerfs.core.marker.PrivateXattrs;
import dev.layerfs.core.model.Layer;
import dev.layerfs.core.model.LayerStack;
import dev.layerfs.core.nativeio.Stat;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The inode numbers the merged view reports (st_ino, and d_ino in listings), by the kernel overlay's rules.
 *
 * <p>Where every layer lies on one filesystem, real numbers are unique already: a lower object shows its own; a
 * merged directory (other than the root) shows its topmost lower directory's; an upper object shows the number
 * its {@link Origins origin record} gives, so a copy-up changes nothing a program can see; the root and pure
 * upper objects show their own. Where layers span filesystems, the top bits say which filesystem a number came
 * from (as the kernel's xino does), so that two real files never share a number; origin records are then not
 * used (the kernel-features work extends them there).
 */
public final class InodeNumbers implements AutoCloseable {
    private static final int FS_BITS = 8;
    private static final long LOW_MASK = (1L << (64 - FS_BITS)) - 1;

    private final boolean singleFilesystem;
    private final Map<Long, Integer> fsIndex = new HashMap<>();
    private final Optional<Origins> origins;

    public InodeNumbers(LayerStack stack, PrivateXattrs markers) {
        this.singleFilesystem = stack.singleFilesystem();
        for (Layer l : stack.layers()) {
            fsIndex.putIfAbsent(l.dev(), fsIndex.size());
        }
        this.origins = singleFilesystem && stack.upper().isPresent()
                ? Optional.of(new Origins(markers, stack.topLower())) : Optional.empty();
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
        if (layer.upper() && origins.isPresent()) {
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
        if (singleFilesystem) {
            return realIno;
        }
        return (realIno & LOW_MASK) | ((long) fsIndex.get(layer.dev()) << (64 - FS_BITS));
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
