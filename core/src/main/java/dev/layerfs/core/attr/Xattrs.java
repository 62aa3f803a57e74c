package dev.layerfs.core.attr;

import dev.layerfs.core.bytes.ByteString;
import dev.layerfs.core.copyup.CopyUp;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.lookup.Entry;
import dev.layerfs.core.lookup.Lookup;
import dev.layerfs.core.lookup.RealPath;
import dev.layerfs.core.marker.PrivateXattrs;
import dev.layerfs.core.model.LayerStack;
import dev.layerfs.core.model.OverlayPaths;
import dev.layerfs.core.nativeio.Syscalls;
import java.util.List;

/**
 * Extended attributes as the merged view shows them: the topmost real object's, with the overlay's private
 * ones ({@link PrivateXattrs}) hidden. Those cannot be set or removed through the view either (EPERM), so no
 * client can forge a marker. Setting or removing any other copies the object up first. Names are byte strings.
 */
public final class Xattrs {
    private final LayerStack stack;
    private final Lookup lookup;
    private final CopyUp copyUp;
    private final Syscalls sys = Syscalls.get();

    public Xattrs(LayerStack stack, Lookup lookup, CopyUp copyUp) {
        this.stack = stack;
        this.lookup = lookup;
        this.copyUp = copyUp;
    }

    public byte[] get(String path, String name) throws FsException {
        RealPath top = lookup.existing(path, "getxattr").top();
        byte[] v = PrivateXattrs.isPrivate(name) ? null : sys.lgetxattr(top.layer().fd(), top.path(), name);
        if (v == null) {
            throw FsException.of(Errno.ENODATA, "getxattr " + ByteString.display(name), OverlayPaths.show(path));
        }
        return v;
    }

    public List<String> list(String path) throws FsException {
        RealPath top = lookup.existing(path, "listxattr").top();
        return sys.llistxattr(top.layer().fd(), top.path()).stream().filter(n -> !PrivateXattrs.isPrivate(n))
                .toList();
    }

    /** setxattr with XATTR_CREATE / XATTR_REPLACE flags. */
    public void set(String path, String name, byte[] value, int flags) throws FsException {
        RealPath top = writable(path, name, "setxattr").top();
        sys.lsetxattr(top.layer().fd(), top.path(), name, value, flags);
    }

    public void remove(String path, String name) throws FsException {
        RealPath top = lookup.existing(path, "removexattr").top();
        if (!PrivateXattrs.isPrivate(name) && sys.lgetxattr(top.layer().fd(), top.path(), name) == null) {
            throw FsException.of(Errno.ENODATA, "removexattr " + ByteString.display(name), OverlayPaths.show(path));
        }
        top = writable(path, name, "removexattr").top();
        sys.lremovexattr(top.layer().fd(), top.path(), name);
    }

    private Entry writable(String path, String name, String op) throws FsException {
        stack.requireUpper(op, OverlayPaths.show(path));
        if (PrivateXattrs.isPrivate(name)) {
            throw FsException.of(Errno.EPERM, op + " " + ByteString.display(name) + " (private to the overlay)",
                    OverlayPaths.show(path));
        }
        Entry e = lookup.existing(path, op);
        // A lower hard link shown through the index (index=on) has its upper inode already: as the kernel's
        // ovl_xattr_set, the change goes to it and the name is not linked up.
        return e.isIndexed() ? e : copyUp.copyUpMetadata(e);
    }
}
