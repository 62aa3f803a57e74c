package dev.layerfs.core.ops;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.lookup.Entry;
import dev.layerfs.core.model.OverlayPaths;
import dev.layerfs.core.whiteout.WhiteoutCodec;
import java.util.ArrayDeque;

/**
 * Writes {@code overlay.redirect} as the kernel's ovl_set_redirect does, on the upper copy of a merged directory
 * that moves (redirect_dir=on) or of a metadata-only file that moves or gets a hard link (metacopy=on): where its
 * lower content lives.
 */
final class Redirects {
    /** The kernel's default redirect_max: the longest redirect written; a longer one is EXDEV. */
    static final int REDIRECT_MAX = 256;

    private final UpperWriter writer;
    private final WhiteoutCodec whiteouts;

    Redirects(UpperWriter writer, WhiteoutCodec whiteouts) {
        this.writer = writer;
        this.whiteouts = whiteouts;
    }

    /**
     * Records on an upper copy, before it moves, where its lower content lives: its name, for a move within its
     * directory, unless it has a redirect already; for a move elsewhere (or a hard link) its absolute path in the
     * lower layers, unless its redirect is absolute already.
     */
    void set(Entry e, boolean sameDir) throws FsException {
        boolean absolute = needsAbsolute(e, sameDir);
        String existing = upperRedirect(e);
        if (existing != null && (!absolute || existing.startsWith("/"))) {
            return;
        }
        String redirect = absolute ? absolute(e) : e.name();
        if (redirect.length() > REDIRECT_MAX) {
            throw FsException.of(Errno.EXDEV, "rename (the path in the lower layers is longer than redirect_max)",
                    OverlayPaths.show(e.path()));
        }
        whiteouts.setRedirect(writer.upper().fd(), e.top().path(), redirect);
    }

    /**
     * The kernel's ovl_need_absolute_redirect: a move to another directory, or a file whose lower object is a
     * hard link (its upper names may end up in different directories).
     */
    private static boolean needsAbsolute(Entry e, boolean sameDir) {
        if (!sameDir) {
            return true;
        }
        return !e.isDirectory() && e.reals().size() > 1 && e.reals().get(1).stat().nlink() > 1;
    }

    /**
     * The path of an object's lower content from the layers' roots (the kernel's ovl_get_redirect): from the
     * object up, each component is the redirect of its upper copy where it has one, else its name, up to the root
     * or to the first absolute redirect.
     */
    private static String absolute(Entry e) {
        ArrayDeque<String> parts = new ArrayDeque<>();
        for (Entry d = e; d != null && !d.isRoot(); d = d.parent()) {
            String r = upperRedirect(d);
            String part = r != null ? r : d.name();
            parts.addFirst(part);
            if (part.startsWith("/")) {
                break;
            }
        }
        String joined = String.join("/", parts);
        return joined.startsWith("/") ? joined : "/" + joined;
    }

    /** The redirect an upper object carries, or null. */
    private static String upperRedirect(Entry e) {
        return e.exists() && e.hasUpper() ? e.top().markers().redirect() : null;
    }
}
