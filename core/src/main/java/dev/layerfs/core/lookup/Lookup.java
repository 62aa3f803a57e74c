package dev.layerfs.core.lookup;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.model.Layer;
import dev.layerfs.core.model.LayerStack;
import dev.layerfs.core.model.OverlayPaths;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.Syscalls;
import dev.layerfs.core.marker.DirectoryMarkers;
import dev.layerfs.core.marker.Opacity;
import dev.layerfs.core.whiteout.WhiteoutCodec;
import java.util.ArrayList;
import java.util.List;
import java.util.NavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Looks merged paths up through the layers, one component at a time and never following a symbolic link
 * (every component is lstat-ed in every layer it is looked for in, and a layer whose component is not a
 * directory drops out), with the directories on the way cached. The rules, as the kernel's: the topmost
 * non-directory wins; directories merge until one is opaque; a whiteout stops the search; a non-directory hides
 * directories below it.
 */
public final class Lookup {
    private final LayerStack stack;
    private final WhiteoutCodec whiteouts;
    private final Syscalls sys = Syscalls.get();
    /**
     * Directories looked up before, by merged path ("" is the root). Only layerfs changes the layers while
     * they are mounted (the kernel overlay makes the same demand), so an entry stays right until an operation
     * of this overlay changes that path or one above it, and {@link #invalidate} drops it.
     */
    private final NavigableMap<String, Entry> directories = new ConcurrentSkipListMap<>();
    /** Other caches that must forget what they know about a path whenever this one does. */
    private final List<Consumer<String>> invalidationListeners = new CopyOnWriteArrayList<>();

    public Lookup(LayerStack stack, WhiteoutCodec whiteouts) {
        this.stack = stack;
        this.whiteouts = whiteouts;
    }

    /** The root: every layer's root directory (opaque markers on layer roots are ignored, as by the kernel). */
    public Entry root() throws FsException {
        List<RealPath> reals = new ArrayList<>(stack.layers().size());
        for (Layer layer : stack.layers()) {
            Stat st = sys.lstat(layer.fd(), "");
            reals.add(new RealPath(layer, "", st, rootMarkers(layer)));
        }
        return new Entry(null, "", reals, false, Entry.UpperWhiteout.NONE);
    }

    /** A layer root's markers: its opaque marker is ignored (as by the kernel), whether it is impure is not. */
    private DirectoryMarkers rootMarkers(Layer layer) throws FsException {
        if (!layer.upper()) {
            return DirectoryMarkers.NONE;
        }
        return new DirectoryMarkers(Opacity.TRANSPARENT, whiteouts.markers(layer, "").impure());
    }

    /**
     * Looks a path up. The last component may be missing (the entry then says why); a missing or
     * non-directory ancestor is ENOENT or ENOTDIR. Directories come from the cache where they are in it; for
     * the last component only the topmost real directory is stat-ed again, since its attributes (times, link
     * count) change with what is made inside it, which leaves the layers that make it up unchanged.
     */
    public Entry resolve(String path) throws FsException {
        if (path.isEmpty()) {
            return root();
        }
        Entry e = directories.get("");
        if (e == null) {
            e = root();
            directories.put("", e);
        }
        int start = 0;
        while (true) {
            int slash = path.indexOf('/', start);
            if (!e.exists()) {
                throw FsException.of(Errno.ENOENT, "lookup", "/" + path);
            }
            if (!e.isDirectory()) {
                throw FsException.of(Errno.ENOTDIR, "lookup", "/" + path);
            }
            String prefix = slash < 0 ? path : path.substring(0, slash);
            Entry cached = directories.get(prefix);
            if (cached != null && slash < 0) {
                cached = restat(cached);
            }
            if (cached != null) {
                e = cached;
            } else {
                e = child(e, slash < 0 ? path.substring(start) : path.substring(start, slash));
                if (e.isDirectory()) {
                    directories.put(prefix, e);
                }
            }
            if (slash < 0) {
                return e;
            }
            start = slash + 1;
        }
    }

    /** A cached directory with its topmost real directory stat-ed afresh; null if that is no longer it. */
    private Entry restat(Entry cached) throws FsException {
        RealPath top = cached.top();
        Stat st = sys.lstatIfExists(top.layer().fd(), top.path());
        if (st == null || !st.isDirectory() || st.ino() != top.stat().ino()) {
            return null;
        }
        List<RealPath> reals = new ArrayList<>(cached.reals());
        reals.set(0, new RealPath(top.layer(), top.path(), st, top.markers()));
        return new Entry(cached.parent(), cached.path(), reals, false, Entry.UpperWhiteout.NONE);
    }

    /**
     * Forgets what is cached about a path and everything below it. Every change to the namespace calls this
     * for the paths it touched, under the overlay's write lock, so no lookup fills the cache meanwhile.
     */
    public void invalidate(String path) {
        if (path.isEmpty()) {
            directories.clear();
        } else {
            directories.remove(path);
            directories.subMap(path + "/", path + "0").clear();
        }
        for (Consumer<String> listener : invalidationListeners) {
            listener.accept(path);
        }
    }

    /**
     * Tells {@code listener} every path {@link #invalidate} is called for, so that a cache derived from the
     * layers (such as the merged listings) is dropped at the same moments as this one.
     */
    public void onInvalidate(Consumer<String> listener) {
        invalidationListeners.add(listener);
    }

    /** Looks up a path that must exist. */
    public Entry existing(String path, String op) throws FsException {
        return resolve(path).requireExists(op);
    }

    /** Looks one name up in a directory entry. */
    public Entry child(Entry dir, String name) throws FsException {
        if (WhiteoutCodec.isReservedName(name)) {
            return new Entry(dir, OverlayPaths.child(dir.path(), name), List.of(), false, Entry.UpperWhiteout.NONE);
        }
        return scan(dir, name, dir.reals());
    }

    /**
     * Whether a lower layer still shows something under this name in the directory: then removing or moving
     * away the upper object must leave a whiteout, and a directory put there must be opaque.
     */
    public boolean lowerPositive(Entry dir, String name) throws FsException {
        List<RealPath> lowers = dir.reals().stream().filter(r -> !r.isUpper()).toList();
        return !lowers.isEmpty() && scan(dir, name, lowers).exists();
    }

    private Entry scan(Entry dir, String name, List<RealPath> parents) throws FsException {
        String path = OverlayPaths.child(dir.path(), name);
        List<RealPath> found = new ArrayList<>(2);
        boolean whitedOut = false;
        Entry.UpperWhiteout upperWhiteout = Entry.UpperWhiteout.NONE;
        int last = parents.size() - 1;
        for (int i = 0; i <= last; i++) {
            RealPath parent = parents.get(i);
            Layer layer = parent.layer();
            Stat st = sys.lstatIfExists(layer.fd(), path);
            if (st == null) {
                if (whiteouts.hasWhiteoutFile(layer, path)) {
                    whitedOut = true;
                    upperWhiteout = layer.upper() ? Entry.UpperWhiteout.AUFS_FILE : upperWhiteout;
                    break;
                }
                continue;
            }
            if (whiteouts.isWhiteout(layer, path, st, parent.opacity())) {
                whitedOut = true;
                upperWhiteout = layer.upper() ? Entry.UpperWhiteout.DEVICE : upperWhiteout;
                break;
            }
            if (!st.isDirectory()) {
                if (found.isEmpty()) {
                    found.add(new RealPath(layer, path, st, DirectoryMarkers.NONE));
                }
                break;
            }
            DirectoryMarkers markers = whiteouts.markers(layer, path);
            found.add(new RealPath(layer, path, st, markers));
            if (markers.opacity().hidesLower()) {
                break;
            }
        }
        if (!found.isEmpty()) {
            whitedOut = false;
        }
        return new Entry(dir, path, found, whitedOut, upperWhiteout);
    }
}
