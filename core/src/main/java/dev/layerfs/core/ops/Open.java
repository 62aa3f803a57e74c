package dev.layerfs.core.ops;

import dev.layerfs.core.attr.Privileges;
import dev.layerfs.core.copyup.CopyUp;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.handle.LowerOpenFiles;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.lookup.Entry;
import dev.layerfs.core.lookup.Lookup;
import dev.layerfs.core.lookup.RealPath;
import dev.layerfs.core.model.Caller;
import dev.layerfs.core.model.IdMapping;
import dev.layerfs.core.model.LayerStack;
import dev.layerfs.core.model.OverlayPaths;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Syscalls;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opening files (the kernel overlay's file.c): reading stays on the layer that has the file; O_WRONLY, O_RDWR or
 * O_TRUNC copy it up first; O_CREAT makes a missing file in the upper layer. The caller holds the overlay's lock:
 * the write lock for {@link #create} and any open that may copy up, the read lock otherwise.
 */
public final class Open {
    private static final Logger LOG = LoggerFactory.getLogger(Open.class);
    /** The open flags passed on to the real file. */
    private static final int PASSED_ON = Linux.O_ACCMODE | Linux.O_APPEND | Linux.O_TRUNC | Linux.O_NONBLOCK
            | Linux.O_DIRECT | Linux.O_SYNC | Linux.O_DSYNC | Linux.O_NOATIME;

    private final LayerStack stack;
    private final Lookup lookup;
    private final CopyUp copyUp;
    private final Creation creation;
    private final LowerOpenFiles lowerOpenFiles;
    private final IdMapping ids;
    private final Syscalls sys = Syscalls.get();

    public Open(LayerStack stack, Lookup lookup, CopyUp copyUp, Creation creation, LowerOpenFiles lowerOpenFiles,
            IdMapping ids) {
        this.stack = stack;
        this.lookup = lookup;
        this.copyUp = copyUp;
        this.creation = creation;
        this.lowerOpenFiles = lowerOpenFiles;
        this.ids = ids;
    }

    /**
     * The first half of an open with O_CREAT: creates the file, owned by {@code caller}, if the name is free.
     * Returns null where it exists (then {@link #existing} opens it), or EEXIST with O_EXCL.
     */
    public OpenFile create(String path, int flags, int mode, Caller caller) throws FsException {
        Entry e = lookup.resolve(path);
        if (e.exists()) {
            if ((flags & Linux.O_EXCL) != 0) {
                throw FsException.of(Errno.EEXIST, "create", OverlayPaths.show(path));
            }
            return null;
        }
        int fd = creation.createFile(e, flags & PASSED_ON, mode, caller);
        lookup.invalidate(path);
        return new OpenFile(path, flags, fd, stack.upper().orElseThrow(), true);
    }

    /**
     * Opens an existing file (flags without O_CREAT), copying it up first where the flags ask for writing. A file
     * opened on a lower layer is registered, so that a later copy-up moves it to the upper copy. With O_TRUNC,
     * {@code fsetid} says whether the caller holds CAP_FSETID (null: taken from who the caller is, see
     * {@link Privileges#privileged}); from one without it the file loses setuid and setgid (see
     * {@link Privileges}), judged with the caller's {@code groups} (null where they are not known).
     */
    public OpenFile existing(String path, int flags, Caller caller, Boolean fsetid, Privileges.Groups groups)
            throws FsException {
        Entry e = lookup.existing(path, "open");
        boolean forWrite = Linux.opensForWrite(flags);
        if (e.isDirectory()) {
            if (forWrite) {
                throw FsException.of(Errno.EISDIR, "open", OverlayPaths.show(path));
            }
        } else if (e.stat().isSymlink()) {
            throw FsException.of(Errno.ELOOP, "open", OverlayPaths.show(path));
        }
        if (forWrite) {
            stack.requireUpper("open", OverlayPaths.show(path));
            boolean truncating = (flags & Linux.O_TRUNC) != 0;
            e = copyUp.copyUp(e, !truncating);
        }
        int real = (flags & PASSED_ON) | Linux.O_NOFOLLOW;
        // A metadata-only copy is read from its data, in a lower layer.
        RealPath data = e.data();
        int fd = data.isUpper() ? sys.openat(data.layer().fd(), data.path(), real, 0)
                : sys.openNoAtime(data.layer().fd(), data.path(), real);
        if ((flags & Linux.O_TRUNC) != 0 && !(fsetid == null ? Privileges.privileged(caller, ids) : fsetid)) {
            // As the kernel's do_truncate does. Through FUSE with atomic_o_trunc the kernel leaves this to the file
            // system: the truncation happens inside OPEN and the kernel sends no SETATTR for the mode.
            Privileges.kill(sys, fd, e.stat(), groups == null ? Privileges.Groups.UNKNOWN : groups, ids);
        }
        OpenFile opened = new OpenFile(path, flags, fd, data.layer());
        if (e.isMetacopy() && !data.isUpper()) {
            holdMetadata(opened, e.top());
        }
        lowerOpenFiles.opened(opened);
        return opened;
    }

    /**
     * A file opened on the lower data of a metadata-only copy takes its attributes from that copy, held by an
     * O_PATH descriptor so that fstat answers for it after an unlink (nlink 0, the copy's mode), as the kernel
     * overlay's inode does. Where it cannot be held, fstat answers from the name while it lasts.
     */
    private void holdMetadata(OpenFile opened, RealPath meta) {
        try {
            opened.pinMetadata(sys.openat(meta.layer().fd(), meta.path(),
                    Linux.O_PATH | Linux.O_NOFOLLOW | Linux.O_CLOEXEC, 0));
        } catch (FsException failed) {
            LOG.debug("the metadata-only copy of /{} cannot be held: {}", OverlayPaths.show(opened.path()),
                    failed.getMessage());
        }
    }
}
