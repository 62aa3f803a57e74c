package dev.layerfs.core.attr;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.lookup.Entry;
import dev.layerfs.core.nativeio.Syscalls;
import dev.layerfs.core.ops.Engine;
import dev.layerfs.core.whiteout.WhiteoutCodec;
import java.util.List;

/**
 * Extended attributes as the merged view shows them: the topmost real object's, with the overlay's private
 * ones (opaque and whiteout markers) hidden. Those cannot be set or removed through the view either (EPERM),
 * so no client can forge a marker. Setting or removing any other copies the object up first.
 */
public final class Xattrs {
    private final Engine engine;
    private final Syscalls sys = Syscalls.get();

    public Xattrs(Engine engine) {
        this.engine = engine;
    }

    public byte[] get(String path, String name) throws FsException {
        Entry e = engine.lookup().existing(path, "getxattr");
        byte[] v = WhiteoutCodec.isPrivateXattr(name) ? null : sys.lgetxattr(e.top().absolute(), name);
        if (v == null) {
            throw FsException.of(Errno.ENODATA, "getxattr " + name, "/" + path);
        }
        return v;
    }

    public List<String> list(String path) throws FsException {
        Entry e = engine.lookup().existing(path, "listxattr");
        return sys.llistxattr(e.top().absolute()).stream().filter(n -> !WhiteoutCodec.isPrivateXattr(n)).toList();
    }

    /** setxattr with XATTR_CREATE / XATTR_REPLACE flags. */
    public void set(String path, String name, byte[] value, int flags) throws FsException {
        Entry e = writable(path, name, "setxattr");
        sys.lsetxattr(e.top().absolute(), name, value, flags);
    }

    public void remove(String path, String name) throws FsException {
        Entry e = engine.lookup().existing(path, "removexattr");
        if (!WhiteoutCodec.isPrivateXattr(name) && sys.lgetxattr(e.top().absolute(), name) == null) {
            throw FsException.of(Errno.ENODATA, "removexattr " + name, "/" + path);
        }
        e = writable(path, name, "removexattr");
        sys.lremovexattr(e.top().absolute(), name);
    }

    private Entry writable(String path, String name, String op) throws FsException {
        engine.requireWritable(op, path);
        if (WhiteoutCodec.isPrivateXattr(name)) {
            throw FsException.of(Errno.EPERM, op + " " + name + " (private to the overlay)", "/" + path);
        }
        Entry e = engine.lookup().existing(path, op);
        return engine.copyUp().copyUp(e);
    }
}
