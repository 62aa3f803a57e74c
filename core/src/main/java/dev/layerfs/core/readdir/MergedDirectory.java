package dev.layerfs.core.readdir;

import dev.layerfs.core.error.FsException;
import dev.layerfs.core.inode.InodeNumbers;
import dev.layerfs.core.lookup.Entry;
import dev.layerfs.core.lookup.Lookup;
import dev.layerfs.core.lookup.RealPath;
import dev.layerfs.core.marker.Opacity;
import dev.layerfs.core.model.OverlayPaths;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.RawDirent;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.Syscalls;
import dev.layerfs.core.whiteout.WhiteoutCodec;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The listing of a merged directory: the real directories read top-down, each name taken from the topmost
 * layer that has it, whiteouts and the names they hide dropped, and nothing read below an opaque directory
 * (the entry's real list already ends there). Reserved {@code .wh.} names never appear. The same test serves
 * rmdir and rename: {@link #isEmpty}.
 *
 * <p>Inode numbers are those the kernel's ovl_iterate gives where every layer lies on one filesystem: each
 * entry's own real number, except in an impure upper directory (one that holds copied-up objects), whose
 * entries show what a stat of them shows (their origins' numbers; a merged subdirectory its lower directory's).
 * Elsewhere an upper subdirectory that is merged lists its upper number though a stat shows its lower one, as on
 * the kernel overlay.
 *
 * <p>Listings are cached by merged path. A listing changes only when a name in the directory is created,
 * removed, renamed or copied up (a copy-up changes the inode number it reports) or the directory itself
 * changes, and every such change goes through {@code Lookup.invalidate} for the path it touched, which calls
 * {@link #invalidate}: that drops the listing of the path's parent, of the path and of everything below it.
 * Invalidation happens under the overlay's write lock and listings are made under its read lock, so a listing
 * made before a change can never be stored after it.
 */
public final class MergedDirectory {
    private final WhiteoutCodec whiteouts;
    private final InodeNumbers inodes;
    private final Lookup lookup;
    /**
     * At most this many names are kept in cached listings altogether (a few MiB); past it the cache starts
     * over, and a larger directory is listed afresh every time.
     */
    private static final int MAX_CACHED_NAMES = 100_000;

    private final Syscalls sys = Syscalls.get();
    private final NavigableMap<String, List<DirEntry>> listings = new ConcurrentSkipListMap<>();
    private final AtomicInteger cachedNames = new AtomicInteger();
    private final int maxCachedNames;

    public MergedDirectory(WhiteoutCodec whiteouts, InodeNumbers inodes, Lookup lookup) {
        this(whiteouts, inodes, lookup, MAX_CACHED_NAMES);
    }

    MergedDirectory(WhiteoutCodec whiteouts, InodeNumbers inodes, Lookup lookup, int maxCachedNames) {
        this.whiteouts = whiteouts;
        this.inodes = inodes;
        this.lookup = lookup;
        this.maxCachedNames = maxCachedNames;
    }

    /** Every visible name of the directory, upper names first, without "." and ".." (unmodifiable). */
    public List<DirEntry> list(Entry dir) throws FsException {
        List<DirEntry> cached = listings.get(dir.path());
        if (cached != null) {
            return cached;
        }
        List<DirEntry> fresh = List.copyOf(read(dir, false).values());
        if (fresh.size() <= maxCachedNames) {
            if (cachedNames.get() + fresh.size() > maxCachedNames) {
                invalidate("");
            }
            if (listings.putIfAbsent(dir.path(), fresh) == null) {
                cachedNames.addAndGet(fresh.size());
            }
        }
        return fresh;
    }

    /** True where the merged directory shows no name at all. */
    public boolean isEmpty(Entry dir) throws FsException {
        List<DirEntry> cached = listings.get(dir.path());
        return cached != null ? cached.isEmpty() : read(dir, true).isEmpty();
    }

    /**
     * Forgets the listings a change at {@code path} may have changed: its parent's, its own and those below it
     * ("" forgets everything).
     */
    public void invalidate(String path) {
        if (path.isEmpty()) {
            for (String p : listings.keySet()) {
                forget(p);
            }
            return;
        }
        forget(OverlayPaths.parent(path));
        forget(path);
        for (String p : listings.subMap(path + "/", path + "0").keySet()) {
            forget(p);
        }
    }

    private void forget(String path) {
        List<DirEntry> gone = listings.remove(path);
        if (gone != null) {
            cachedNames.addAndGet(-gone.size());
        }
    }

    private Map<String, DirEntry> read(Entry dir, boolean stopAtFirst) throws FsException {
        Map<String, DirEntry> visible = new LinkedHashMap<>();
        Set<String> hidden = new HashSet<>();
        List<RealPath> reals = dir.reals();
        for (int i = 0; i < reals.size(); i++) {
            RealPath real = reals.get(i);
            boolean lowerFollows = i < reals.size() - 1;
            List<String> whitedOutHere = new ArrayList<>();
            for (RawDirent d : sys.readdir(real.layer().fd(), real.path())) {
                String name = d.name();
                if (WhiteoutCodec.isReservedName(name)) {
                    if (lowerFollows && !name.equals(WhiteoutCodec.OPAQUE_MARKER_FILE)) {
                        whitedOutHere.add(name.substring(WhiteoutCodec.PREFIX.length()));
                    }
                    continue;
                }
                if (visible.containsKey(name) || hidden.contains(name)) {
                    continue;
                }
                int type = Linux.modeOfDirentType(d.type());
                if (needsStat(type, real.opacity())) {
                    Stat st = sys.lstatIfExists(real.layer().fd(), OverlayPaths.child(real.path(), name));
                    if (st == null) {
                        continue;
                    }
                    if (whiteouts.isWhiteout(real.layer(), OverlayPaths.child(real.path(), name), st,
                            real.opacity())) {
                        hidden.add(name);
                        continue;
                    }
                    type = st.type();
                }
                visible.put(name, new DirEntry(name, ino(dir, real, name, d.ino(), type), type));
                if (stopAtFirst) {
                    return visible;
                }
            }
            hidden.addAll(whitedOutHere);
        }
        return visible;
    }

    /** The number listed for the entry {@code name} found in {@code real} (see the class comment). */
    private long ino(Entry dir, RealPath real, String name, long realIno, int type) throws FsException {
        if (!real.isUpper() || !real.markers().impure()) {
            return inodes.mapped(real.layer(), realIno);
        }
        if (type == Linux.S_IFDIR) {
            Entry child = lookup.child(dir, name);
            if (child.exists()) {
                return inodes.of(child);
            }
        }
        return inodes.of(real.layer(), OverlayPaths.child(real.path(), name), realIno, type);
    }

    /** Only character devices, unknown types and, where the kernel's xattr whiteouts may be, files need a stat. */
    private static boolean needsStat(int type, Opacity opacity) {
        return type == 0 || type == Linux.S_IFCHR
                || (type == Linux.S_IFREG && opacity == Opacity.TRANSPARENT_WITH_XATTR_WHITEOUTS);
    }
}
