package dev.layerfs.core.readdir;

import dev.layerfs.core.error.FsException;
import dev.layerfs.core.lookup.Entry;
import dev.layerfs.core.lookup.RealPath;
import dev.layerfs.core.model.InodeNumbers;
import dev.layerfs.core.model.OverlayPaths;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.RawDirent;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.Syscalls;
import dev.layerfs.core.whiteout.Opacity;
import dev.layerfs.core.whiteout.WhiteoutCodec;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The listing of a merged directory: the real directories read top-down, each name taken from the topmost
 * layer that has it, whiteouts and the names they hide dropped, and nothing read below an opaque directory
 * (the entry's real list already ends there). Reserved {@code .wh.} names never appear. The same test serves
 * rmdir and rename: {@link #isEmpty}.
 */
public final class MergedDirectory {
    private final WhiteoutCodec whiteouts;
    private final InodeNumbers inodes;
    private final Syscalls sys = Syscalls.get();

    public MergedDirectory(WhiteoutCodec whiteouts, InodeNumbers inodes) {
        this.whiteouts = whiteouts;
        this.inodes = inodes;
    }

    /** Every visible name of the directory, upper names first, without "." and "..". */
    public List<DirEntry> list(Entry dir) throws FsException {
        return new ArrayList<>(read(dir, false).values());
    }

    /** True where the merged directory shows no name at all. */
    public boolean isEmpty(Entry dir) throws FsException {
        return read(dir, true).isEmpty();
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
                visible.put(name, new DirEntry(name, inodes.of(real.layer(), d.ino()), type));
                if (stopAtFirst) {
                    return visible;
                }
            }
            hidden.addAll(whitedOutHere);
        }
        return visible;
    }

    /** Only character devices, unknown types and, where the kernel's xattr whiteouts may be, files need a stat. */
    private static boolean needsStat(int type, Opacity opacity) {
        return type == 0 || type == Linux.S_IFCHR
                || (type == Linux.S_IFREG && opacity == Opacity.TRANSPARENT_WITH_XATTR_WHITEOUTS);
    }
}
