package dev.layerfs.core.lookup;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.model.Layer;
import dev.layerfs.core.model.KernelFeatures;
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
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
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
    private final KernelFeatures.RedirectDir redirectDir;
    /** metacopy=on: regular files are checked for being metadata-only copies. */
    private final boolean metacopy;
    private final Syscalls sys = Syscalls.get();
    /**
     * Directories looked up before, by merged path ("" is the root). Only layerfs changes the layers while
     * they are mounted (the kernel overlay makes the same demand), so an entry stays right until an operation
     * of this overlay changes that path or one above it, and {@link #invalidate} drops it.
     */
    private final NavigableMap<String, Entry> directories = new ConcurrentSkipListMap<>();
    /**
     * At most this many real directories (the layers' directories that make up each cached merged directory,
     * summed) are kept in {@link #directories}: about 12 MiB of heap at most (580 bytes a real directory, measured
     * with one-layer directories), whatever the size of the tree or the number of layers. Past it the cache starts
     * over; a walk then looks each directory on its way up again once.
     */
    private static final int MAX_CACHED_REALS = 20_000;

    private final int maxCachedReals;
    private final AtomicInteger cachedReals = new AtomicInteger();
    /** Records a merged directory's missing origin (set where the overlay is writable), or null. */
    private volatile OriginFixer originFixer;
    /** Finds the index entry of a lower hard link (set where index=on), or null. */
    private volatile IndexFinder indexFinder;
    /** Other caches that must forget what they know about a path whenever this one does. */
    private final List<Consumer<String>> invalidationListeners = new CopyOnWriteArrayList<>();
    /**
     * Counts the calls of {@link #invalidate}, which every change to the layers makes: an entry made while the count
     * stays what it was is still what a lookup would find.
     */
    private final AtomicLong generation = new AtomicLong();
    /**
     * Non-directories that lie in lower layers only, as {@link #resolve} last found them, by a hash of their path
     * (one slot each, the last one wins): lower layers do not change while mounted, and anything that would hide
     * or replace such an object through this overlay invalidates, so while the generation stays (see
     * {@link #isCurrent}) the entry is what a lookup would find, but for the top object's attributes, which are
     * read again. A name that the kernel looks up and then changes at once (LOOKUP, then SETATTR) is searched for
     * through the layers once.
     */
    private final AtomicReferenceArray<Entry> recentLowerFiles = new AtomicReferenceArray<>(RECENT_SLOTS);
    /**
     * Names that no layer has, as {@link #resolve} last found them, by the same hash: while nothing was invalidated
     * since (see {@link #isCurrent}), no layer has them yet, and the entry (which carries its parent and any
     * upper-layer whiteout, as a create needs them) is what a lookup would find, with nothing to stat again. A
     * name that the kernel looks up and then creates (LOOKUP, then CREATE or MKDIR: each file of an untar) is
     * searched for through the layers once.
     */
    private final AtomicReferenceArray<Entry> recentMisses = new AtomicReferenceArray<>(RECENT_SLOTS);
    private static final int RECENT_SLOTS = 64;

    public Lookup(LayerStack stack, WhiteoutCodec whiteouts) {
        this(stack, whiteouts, KernelFeatures.DEFAULT);
    }

    public Lookup(LayerStack stack, WhiteoutCodec whiteouts, KernelFeatures features) {
        this(stack, whiteouts, features, MAX_CACHED_REALS);
    }

    Lookup(LayerStack stack, WhiteoutCodec whiteouts, KernelFeatures features, int maxCachedReals) {
        this.maxCachedReals = maxCachedReals;
        this.stack = stack;
        this.whiteouts = whiteouts;
        this.redirectDir = features.redirectDir();
        this.metacopy = features.metacopy();
    }

    /** The root: every layer's root directory (opaque markers on layer roots are ignored, as by the kernel). */
    public Entry root() throws FsException {
        List<RealPath> reals = new ArrayList<>(stack.layers().size());
        for (Layer layer : stack.layers()) {
            Stat st = sys.lstat(layer.fd(), "");
            reals.add(new RealPath(layer, "", st, rootMarkers(layer)));
        }
        return new Entry(null, "", reals, false, Entry.UpperWhiteout.NONE, generation.get());
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
        Entry e = directories.get("");
        if (e == null) {
            e = root();
            cache("", e);
        }
        if (path.isEmpty()) {
            // As any cached directory looked up again: only its topmost real directory is stat-ed afresh.
            Entry fresh = restat(e);
            return fresh != null ? fresh : root();
        }
        int slot = path.hashCode() & (RECENT_SLOTS - 1);
        Entry miss = recentMisses.get(slot);
        if (miss != null && miss.path().equals(path) && isCurrent(miss)) {
            return miss;
        }
        Entry recent = recentLowerFiles.get(slot);
        if (recent != null && recent.path().equals(path) && isCurrent(recent)) {
            // Its attributes are read again (a read without O_NOATIME moves a lower file's atime).
            RealPath top = recent.top();
            Stat st = sys.lstatIfExists(top.layer().fd(), top.path());
            if (st != null && st.ino() == top.stat().ino() && st.type() == top.stat().type()) {
                return restated(recent, st);
            }
        }
        int start = 0;
        int lastSlash = path.lastIndexOf('/');
        if (lastSlash > 0) {
            // A cached parent is still right (invalidating a directory drops everything below it), so the walk can
            // start there: one cache probe instead of one per component.
            Entry parent = directories.get(path.substring(0, lastSlash));
            if (parent != null) {
                e = parent;
                start = lastSlash + 1;
            }
        }
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
                    cache(prefix, e);
                }
            }
            if (slash < 0) {
                if (!e.exists()) {
                    recentMisses.set(slot, e);
                } else if (!e.isDirectory() && lowerOnly(e)) {
                    recentLowerFiles.set(slot, e);
                }
                return e;
            }
            start = slash + 1;
        }
    }

    private static boolean lowerOnly(Entry e) {
        for (RealPath r : e.reals()) {
            if (r.isUpper() || r.layer().isInodesIndex()) {
                return false;
            }
        }
        return true;
    }

    /** A cached directory with its topmost real directory stat-ed afresh; null if that is no longer it. */
    private Entry restat(Entry cached) throws FsException {
        RealPath top = cached.top();
        Stat st = sys.lstatIfExists(top.layer().fd(), top.path());
        if (st == null || !st.isDirectory() || st.ino() != top.stat().ino()) {
            return null;
        }
        return restated(cached, st);
    }

    /**
     * Forgets what is cached about a path and everything below it. Every change to the namespace calls this
     * for the paths it touched, under the overlay's write lock, so no lookup fills the cache meanwhile.
     */
    public void invalidate(String path) {
        generation.incrementAndGet();
        if (path.isEmpty()) {
            forgetAll();
        } else {
            forget(path);
            for (String below : directories.subMap(path + "/", path + "0").keySet()) {
                forget(below);
            }
        }
        for (Consumer<String> listener : invalidationListeners) {
            listener.accept(path);
        }
    }

    /** Keeps a looked-up directory, first making room if the cache is full (it starts over). */
    private void cache(String path, Entry dir) {
        int weight = dir.reals().size();
        if (cachedReals.get() + weight > maxCachedReals) {
            forgetAll();
        }
        Entry before = directories.put(path, dir);
        cachedReals.addAndGet(before == null ? weight : weight - before.reals().size());
    }

    private void forget(String path) {
        Entry gone = directories.remove(path);
        if (gone != null) {
            cachedReals.addAndGet(-gone.reals().size());
        }
    }

    private void forgetAll() {
        for (String path : directories.keySet()) {
            forget(path);
        }
    }

    /** How many real directories the cache holds (for tests of its bound). */
    int cachedReals() {
        return cachedReals.get();
    }

    /**
     * Tells {@code listener} every path {@link #invalidate} is called for, so that a cache derived from the
     * layers (such as the merged listings) is dropped at the same moments as this one.
     */
    public void onInvalidate(Consumer<String> listener) {
        invalidationListeners.add(listener);
    }

    /**
     * Called when a lookup finds a merged directory whose upper directory has no origin record (made by another
     * tool, or by an overlay without origin records), as the kernel's ovl_fix_origin: the fixer records the lower
     * directory as its origin and marks the upper parent impure.
     */
    @FunctionalInterface
    public interface OriginFixer {
        void fix(Entry parent, String path, RealPath upperDir, RealPath lowerDir) throws FsException;
    }

    /** Where index=on: the upper copy of a lower hard link, reached through the index, or null. */
    public interface IndexFinder {
        RealPath find(RealPath lower) throws FsException;
    }

    /**
     * With index=on: a lower hard link whose name has no upper copy shows the upper copy another of its names made
     * (the index entry), as the kernel's ovl_lookup does. Such an entry's real objects are the index entry, then
     * the lower object.
     */
    public void useIndex(IndexFinder finder) {
        this.indexFinder = finder;
    }

    public void onMergedWithoutOrigin(OriginFixer fixer) {
        this.originFixer = fixer;
    }

    /**
     * Whether an entry is still what a lookup would find: nothing was invalidated since it was made. Under the
     * overlay's write lock nothing else changes the layers, so an operation that looked a name up can act on the
     * entry without looking it up again, unless it changed something in between (a copy-up of a parent, say).
     * Directories from the cache, made by earlier operations, are not current in this sense.
     */
    public boolean isCurrent(Entry e) {
        return e.generation() == generation.get();
    }

    /**
     * The entry of an object this overlay has just made in the upper layer (a regular file copied up), from what
     * the copy-up knows of it: its real objects, topmost first, as a lookup of it would find them now. Saves
     * looking up again what was just written.
     */
    public Entry made(Entry parent, String path, List<RealPath> reals) {
        return new Entry(parent, path, reals, false, Entry.UpperWhiteout.NONE, generation.get());
    }

    /**
     * An entry with its topmost real object stat-ed again ({@code top}, the same object's stat after a change to
     * it): the rest is as the entry had it.
     */
    public Entry restated(Entry e, Stat top) {
        List<RealPath> was = e.reals();
        RealPath old = was.get(0);
        RealPath fresh = new RealPath(old.layer(), old.path(), top, old.markers());
        // Most entries have one or two real objects: an immutable list of them, which Entry keeps without a copy.
        List<RealPath> reals;
        if (was.size() == 1) {
            reals = List.of(fresh);
        } else if (was.size() == 2) {
            reals = List.of(fresh, was.get(1));
        } else {
            reals = new ArrayList<>(was);
            reals.set(0, fresh);
        }
        return new Entry(e.parent(), e.path(), reals, e.isWhitedOut(), e.upperWhiteout(), e.generation());
    }

    /** Looks up a path that must exist. */
    public Entry existing(String path, String op) throws FsException {
        return resolve(path).requireExists(op);
    }

    /** Looks one name up in a directory entry. */
    public Entry child(Entry dir, String name) throws FsException {
        if (WhiteoutCodec.isReservedName(name)) {
            return new Entry(dir, OverlayPaths.child(dir.path(), name), List.of(), false, Entry.UpperWhiteout.NONE,
                    generation.get());
        }
        return scan(dir, name, dir.reals());
    }

    /**
     * Whether a lower layer still shows something under this name in the directory: then removing or moving
     * away the upper object must leave a whiteout, and a directory put there must be opaque.
     */
    public boolean lowerPositive(Entry dir, String name) throws FsException {
        // As the kernel's ovl_lower_positive: the first lower directory that has the name decides, by its name
        // (redirects are not followed here).
        for (RealPath parent : dir.reals()) {
            if (parent.isUpper()) {
                continue;
            }
            String real = OverlayPaths.child(parent.path(), name);
            Stat st = sys.lstatIfExists(parent.layer().fd(), real);
            if (st == null) {
                if (whiteouts.hasWhiteoutFile(parent.layer(), real)) {
                    return false;
                }
                continue;
            }
            return !whiteouts.isWhiteout(parent.layer(), real, st, parent.opacity());
        }
        return false;
    }

    /**
     * Looks {@code name} up below the real directories {@code parents} (topmost first), as the kernel's ovl_lookup:
     * a directory carrying a redirect sends the search in the layers below it to the redirect's name in the
     * same parents (relative) or to its path from each lower layer's root (absolute), and redirects met on the
     * way are followed in turn; with redirect_dir=nofollow, finding a lower object through a redirect is EPERM.
     */
    private Entry scan(Entry dir, String name, List<RealPath> parents) throws FsException {
        // Read first: an origin fixed on the way invalidates, and the entry then predates that change.
        long start = generation.get();
        String path = OverlayPaths.child(dir.path(), name);
        Walk w = new Walk(name);
        List<RealPath> found = new ArrayList<>(2);
        Entry.UpperWhiteout upperWhiteout = Entry.UpperWhiteout.NONE;
        List<Layer> layers = stack.layers();
        Layer bottom = layers.get(layers.size() - 1);
        int next = 0;
        Layer previous = null;
        while (!w.stop) {
            Layer layer;
            RealPath parent = null;
            if (w.absolute()) {
                int index = previous == null ? 0 : layers.indexOf(previous) + 1;
                while (index < layers.size() && layers.get(index).upper()) {
                    index++;
                }
                if (index >= layers.size()) {
                    break;
                }
                layer = layers.get(index);
            } else {
                if (next >= parents.size()) {
                    break;
                }
                parent = parents.get(next++);
                layer = parent.layer();
            }
            previous = layer;
            boolean redirectedBefore = w.redirected;
            RealPath real = parent != null ? single(w, parent, layer == bottom)
                    : absolute(w, layer, layer == bottom);
            if (w.whiteout && found.isEmpty() && layer.upper()) {
                upperWhiteout = w.upperWhiteout;
            }
            if (real == null) {
                continue;
            }
            if (!found.isEmpty() && !real.stat().isDirectory()) {
                // Below a metadata-only copy: its data, or another metadata-only copy (only the topmost is kept).
                if (!real.stat().isRegularFile()) {
                    break;
                }
                if (found.size() == 1) {
                    found.add(real);
                } else {
                    found.set(1, real);
                }
                if (!real.markers().metacopy()) {
                    break;
                }
                continue;
            }
            if (!layer.upper() && (redirectedBefore || w.redirected) && !redirectDir.follows()) {
                throw FsException.of(Errno.EPERM, "lookup (refusing to follow a redirect: redirect_dir=nofollow)",
                        "/" + path);
            }
            found.add(real);
            if (!real.stat().isDirectory() && !real.markers().metacopy()) {
                break;
            }
        }
        if (!found.isEmpty() && found.get(0).markers().metacopy()
                && found.get(found.size() - 1).markers().metacopy()) {
            throw FsException.of(Errno.EIO, "lookup (a metadata-only copy whose data no lower layer has)",
                    "/" + path);
        }
        OriginFixer fixer = originFixer;
        if (fixer != null && found.size() > 1 && found.get(0).isUpper() && found.get(0).stat().isDirectory()
                && !found.get(0).markers().origin()) {
            RealPath upper = found.get(0);
            fixer.fix(dir, path, upper, found.get(1));
            found.set(0, new RealPath(upper.layer(), upper.path(), upper.stat(), upper.markers().withOrigin()));
        }
        IndexFinder finder = indexFinder;
        if (finder != null && found.size() == 1 && !found.get(0).isUpper() && !found.get(0).stat().isDirectory()
                && found.get(0).stat().nlink() > 1) {
            RealPath indexed = finder.find(found.get(0));
            if (indexed != null) {
                found.add(0, indexed);
            }
        }
        boolean whitedOut = found.isEmpty() && w.whiteout;
        return new Entry(dir, path, found, whitedOut, found.isEmpty() ? upperWhiteout : Entry.UpperWhiteout.NONE,
                start);
    }

    /** The state of one lookup across the layers (the kernel's ovl_lookup_data). */
    private static final class Walk {
        /** The name to look for in the next layer: relative to the parent, or absolute from the layer root. */
        String spec;
        boolean stop;
        boolean whiteout;
        Entry.UpperWhiteout upperWhiteout = Entry.UpperWhiteout.NONE;
        boolean isDir;
        boolean redirected;

        Walk(String name) {
            this.spec = name;
        }

        boolean absolute() {
            return spec.startsWith("/");
        }
    }

    /** Looks {@code w.spec} (a name) up in one real parent directory. */
    private RealPath single(Walk w, RealPath parent, boolean bottom) throws FsException {
        Layer layer = parent.layer();
        String real = OverlayPaths.child(parent.path(), w.spec);
        return component(w, layer, real, parent.opacity(), true, bottom, 0, "");
    }

    /** Walks the absolute {@code w.spec} down from a layer's root, component by component. */
    private RealPath absolute(Walk w, Layer layer, boolean bottom) throws FsException {
        String spec = w.spec;
        String base = "";
        Opacity baseOpacity = Opacity.TRANSPARENT;
        int at = 1;
        RealPath real = null;
        while (true) {
            int slash = spec.indexOf('/', at);
            boolean end = slash < 0;
            String part = end ? spec.substring(at) : spec.substring(at, slash);
            String post = end ? "" : spec.substring(slash);
            String p = OverlayPaths.child(base, part);
            real = component(w, layer, p, baseOpacity, end, bottom, at, post);
            if (real == null || end) {
                return real;
            }
            if (!real.stat().isDirectory()) {
                return null;
            }
            base = p;
            baseOpacity = real.opacity();
            at = slash + 1;
        }
    }

    /**
     * One component of a lookup (the kernel's ovl_lookup_single): returns the real object found at {@code real}
     * in {@code layer} or null, and updates the walk: a whiteout or a non-directory where a directory is looked
     * for stops it, an opaque directory stops it after this layer, a redirect changes what the next layers are
     * searched for ({@code prelen} bytes of the current spec are kept before it, {@code post} after it).
     */
    private RealPath component(Walk w, Layer layer, String real, Opacity parentOpacity, boolean last,
            boolean bottom, int prelen, String post) throws FsException {
        Stat st = sys.lstatIfExists(layer.fd(), real);
        if (st == null) {
            if (whiteouts.hasWhiteoutFile(layer, real)) {
                w.stop = true;
                w.whiteout = true;
                w.upperWhiteout = Entry.UpperWhiteout.AUFS_FILE;
            }
            return null;
        }
        if (whiteouts.isWhiteout(layer, real, st, parentOpacity)) {
            w.stop = true;
            w.whiteout = true;
            w.upperWhiteout = Entry.UpperWhiteout.DEVICE;
            return null;
        }
        if (!st.isDirectory()) {
            if (w.isDir || !last) {
                w.stop = true;
                return null;
            }
            DirectoryMarkers mc = metacopy && st.isRegularFile() && !bottom
                    ? whiteouts.metacopyMarkers(layer, real) : null;
            if (mc == null) {
                w.stop = true;
                return new RealPath(layer, real, st, DirectoryMarkers.NONE);
            }
            // A metadata-only copy: the search goes on for its data, at its name or its redirect.
            follow(w, mc.redirect(), prelen, post);
            return new RealPath(layer, real, st, mc);
        }
        if (last) {
            w.isDir = true;
        }
        DirectoryMarkers markers = whiteouts.markers(layer, real);
        if (bottom) {
            return new RealPath(layer, real, st, markers);
        }
        if (markers.opacity().hidesLower()) {
            w.stop = true;
            return new RealPath(layer, real, st, markers);
        }
        follow(w, markers.redirect(), prelen, post);
        return new RealPath(layer, real, st, markers);
    }

    /** A redirect met on the way changes what the next layers are searched for (ovl_check_redirect). */
    private static void follow(Walk w, String redirect, int prelen, String post) {
        if (redirect == null) {
            return;
        }
        if (redirect.startsWith("/")) {
            w.stop = false;
            w.spec = redirect + post;
        } else {
            w.spec = w.spec.substring(0, prelen) + redirect + post;
        }
        w.redirected = true;
    }
}
