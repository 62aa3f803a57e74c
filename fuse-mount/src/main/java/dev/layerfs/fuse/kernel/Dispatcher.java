package dev.layerfs.fuse.kernel;

import dev.layerfs.core.attr.Permissions;
import dev.layerfs.core.attr.Privileges;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.handle.HandleTable;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.handle.PinnedFile;
import dev.layerfs.core.model.Caller;
import dev.layerfs.core.model.IdMapping;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.Timespec;
import dev.layerfs.fuse.kernel.FuseAbi.OpenFlags;
import dev.layerfs.fuse.kernel.FuseAbi.RenameFlags;
import dev.layerfs.fuse.kernel.FuseAbi.SetattrValid;
import dev.layerfs.fuse.kernel.NodeTable.Node;
import dev.layerfs.fuse.kernel.ReplyWriter.Entry;
import dev.layerfs.fuse.kernel.ReplyWriter.Validity;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What each request does: find its nodes in the {@link NodeTable}, call the engine through the
 * {@link OverlayBridge}, update the table, encode the reply with a {@link ReplyWriter}. One guard around every
 * request maps an engine failure to its errno and anything else to EIO (logged), so no exception reaches the
 * read loop. Requests this transport does not implement are answered ENOSYS, after which the kernel does
 * without them.
 */
final class Dispatcher {
    private static final Logger LOG = LoggerFactory.getLogger(Dispatcher.class);
    private static final int ENOSYS = Errno.ENOSYS.code();
    private static final int ENOENT = Errno.ENOENT.code();
    private static final int EINVAL = Errno.EINVAL.code();
    private static final int ERANGE = Errno.ERANGE.code();
    private static final int EIO = Errno.EIO.code();
    private static final int EBADF = Errno.EBADF.code();
    private static final int ENXIO = Errno.ENXIO.code();
    /** The most one COPY_FILE_RANGE copies (its reply's count is 32 bits); the caller asks again for the rest. */
    private static final long MAX_COPY = 1L << 30;
    /** A node id the table no longer has. */
    private static final int ESTALE = Errno.ESTALE.code();
    private static final int EPERM = Errno.EPERM.code();
    private static final int O_CREAT = 0100;
    private static final int O_EXCL = 0200;
    private static final int O_NOCTTY = 0400;

    /** An open file of a node; {@code backed}: it holds a share of the node's {@link Backings} entry. */
    private record FileHandle(Node node, OpenFile file, boolean backed) {}

    /**
     * An open directory. Its merged listing is read by a READDIR at offset 0 (the first read, or one after a
     * rewind), not at OPENDIR, as the kernel overlay reads it at the first read and again at a rewind after a
     * change: where the kernel still has the listing cached (FOPEN_CACHE_DIR with KEEP_CACHE) it sends OPENDIR
     * and RELEASEDIR alone, and no layer's directory is read or looked at. Later offsets resume that listing. Its
     * own monitor guards it, as the READDIRs of one handle may come on different workers.
     */
    private static final class DirHandle {
        final Node node;
        private List<OverlayBridge.Listed> entries;

        DirHandle(Node node) {
            this.node = node;
        }
    }

    private final OverlayBridge fs;
    private final NodeTable nodes;
    private final Validity entryValid;
    private final Validity attrValid;
    private final boolean cacheListingsAsked;
    private final HandleTable<FileHandle> files = new HandleTable<>();
    private final HandleTable<DirHandle> dirs = new HandleTable<>();
    private final PassthroughMode passthrough;
    private final int stackDepth;
    private final Backings backings;
    private final PinnedNodes pinned = new PinnedNodes();
    private final CountDownLatch initialized = new CountDownLatch(1);
    private volatile InitNegotiation init;

    /** Without passthrough: every read and write is served. */
    Dispatcher(OverlayBridge fs, NodeTable nodes, double timeoutSeconds) {
        this(fs, nodes, timeoutSeconds, PassthroughMode.OFF, 0, new Backings());
    }

    /**
     * @param stackDepth the max_stack_depth passthrough is asked with, 0 where {@code passthrough} is off (see
     *     {@link InitNegotiation#negotiate}); the session decides it
     * @param backings where the passthrough backings are kept; its device is attached once mounted
     */
    Dispatcher(OverlayBridge fs, NodeTable nodes, double timeoutSeconds, PassthroughMode passthrough,
            int stackDepth, Backings backings) {
        this.fs = fs;
        this.nodes = nodes;
        this.passthrough = passthrough;
        this.stackDepth = stackDepth;
        this.backings = backings;
        this.entryValid = Validity.ofSeconds(timeoutSeconds);
        this.attrValid = entryValid;
        this.cacheListingsAsked = timeoutSeconds > 0;
    }

    /** Counts down once INIT has been answered. */
    CountDownLatch initialized() {
        return initialized;
    }

    /** What INIT settled, or null before it. */
    InitNegotiation negotiated() {
        return init;
    }

    /** A failure carrying a raw errno that the engine's set does not have. */
    private static final class Refused extends Exception {
        private static final long serialVersionUID = 1L;
        final int errno;

        Refused(int errno) {
            super(null, null, false, false);
            this.errno = errno;
        }
    }

    /**
     * The nodes whose cached attributes and pages the request just answered made stale (it copied their objects
     * up, or objects in them), each once: the session tells the kernel before it sends the reply.
     */
    long[] staleNodes() {
        List<String> paths = fs.takeCopiedUp();
        if (paths.isEmpty() && (staleAlsoCount.get() == 0 || staleAlso.get().isEmpty())) {
            return NONE;
        }
        java.util.LinkedHashSet<Long> ids = new java.util.LinkedHashSet<>(staleAlso.get());
        staleAlsoCount.addAndGet(-staleAlso.get().size());
        staleAlso.get().clear();
        for (String p : paths) {
            for (long id : nodes.copiedUp(p)) {
                ids.add(id);
                Node n = nodes.get(id);
                if (n != null) {
                    backings.copiedUp(n); // its lower backing is never used for the upper copy
                }
            }
        }
        return ids.stream().mapToLong(Long::longValue).toArray();
    }

    private static final long[] NONE = {};

    /**
     * A change of a regular file through one node (its attributes, its link count) is a change of every node with
     * its inode number: with index=on the names of a lower hard link are one object to the overlay but, until
     * each is copied up, nodes of their own here, whose cached attributes and pages the kernel is told to drop.
     */
    private void othersStale(Node n) {
        for (long id : nodes.othersOfInode(n)) {
            staleAlso.get().add(id);
            staleAlsoCount.incrementAndGet();
        }
    }

    /** Nodes a request made stale beyond those its copied-up paths name (per worker thread, until staleNodes). */
    private final ThreadLocal<List<Long>> staleAlso = ThreadLocal.withInitial(java.util.ArrayList::new);
    /** How many ids the lists of {@link #staleAlso} hold, all threads together: while 0 none is looked up. */
    private final AtomicInteger staleAlsoCount = new AtomicInteger();

    /**
     * Answers one request; null where the kernel takes no reply. With -d each request is logged with its
     * outcome, as libfuse does: opcode, unique, node id, then "ok", "no reply" or the errno answered.
     */
    ByteBuffer dispatch(Request r, ReplyWriter w) {
        try {
            ByteBuffer reply = handle(r, w);
            if (LOG.isDebugEnabled()) {
                int errno = reply == null ? 0 : ReplyWriter.errnoOf(reply);
                LOG.debug("{}: {}", r, reply == null ? "no reply" : errno == 0 ? "ok" : "error " + errno);
            }
            return reply;
        } catch (FsException e) {
            if (LOG.isDebugEnabled()) {
                LOG.debug("{}: error {} ({})", r, e.errno().code(), e.getMessage());
            }
            return r.opcode.replies ? w.error(r.unique, e.errno().code()) : null;
        } catch (Refused e) {
            if (LOG.isDebugEnabled()) {
                LOG.debug("{}: error {}", r, e.errno);
            }
            return r.opcode.replies ? w.error(r.unique, e.errno) : null;
        } catch (Throwable t) {
            LOG.error("{} failed unexpectedly", r, t);
            return r.opcode == null || r.opcode.replies ? w.error(r.unique, EIO) : null;
        }
    }

    /**
     * The kernel refused the reply to {@code r}: it abandoned the request meanwhile (interrupted), and the write
     * failed with ENOENT. What a successful OPEN, CREATE or OPENDIR reply handed out then has no owner, and no
     * RELEASE (RELEASEDIR) will come for it: it is undone here as that would. Likewise no FORGET will come for the
     * lookup an entry reply (LOOKUP, MKNOD, MKDIR, SYMLINK, LINK, CREATE) or each entry of a READDIRPLUS reply
     * counted on its node: that lookup is forgotten here, as libfuse's high-level layer forgets the node of a
     * refused entry reply.
     */
    void abandoned(Request r, ByteBuffer reply) {
        if (r.opcode == null || ReplyWriter.errnoOf(reply) != 0) {
            return;
        }
        try {
            switch (r.opcode) {
                case OPEN -> releaseFile(ReplyWriter.openFhOf(reply));
                case CREATE -> {
                    FileHandle h = releaseFile(ReplyWriter.createFhOf(reply));
                    if (h != null) {
                        forget(h.node().id, 1);
                    }
                }
                case OPENDIR -> dirs.remove(ReplyWriter.openFhOf(reply));
                case LOOKUP, MKNOD, MKDIR, SYMLINK, LINK -> {
                    long id = ReplyWriter.entryNodeIdOf(reply);
                    if (id != 0) {
                        forget(id, 1); // 0: a negative entry, which counted nothing
                    }
                }
                case READDIRPLUS -> {
                    for (long id : ReplyWriter.direntplusNodeIdsOf(reply)) {
                        forget(id, 1);
                    }
                }
                default -> {
                    // Nothing handed out.
                }
            }
            LOG.debug("{}: reply refused, the request was abandoned", r);
        } catch (Throwable t) {
            LOG.error("undoing the abandoned {} failed", r, t);
        }
    }

    /** What RELEASE does: closes an open file and drops its handle; the handle closed, or null where none. */
    private FileHandle releaseFile(long fh) {
        FileHandle h = files.remove(fh);
        if (h != null) {
            fs.release(h.file());
            nodes.closed(h.node(), fh);
            if (h.backed()) {
                backings.released(h.node(), nodes.live(h.node()));
            }
        }
        return h;
    }

    private ByteBuffer handle(Request r, ReplyWriter w) throws FsException, Refused {
        if (r.opcode == null) {
            return w.error(r.unique, ENOSYS);
        }
        return switch (r.opcode) {
            case INIT -> init(r, w);
            case DESTROY -> w.empty(r.unique);
            case INTERRUPT -> null; // Requests run to completion; the kernel takes an ignored INTERRUPT.
            case FORGET -> {
                forget(r.nodeId, r.forgetNlookup());
                yield null;
            }
            case BATCH_FORGET -> {
                long[] pairs = r.batchForget();
                for (int i = 0; i < pairs.length; i += 2) {
                    forget(pairs[i], pairs[i + 1]);
                }
                yield null;
            }
            case LOOKUP -> lookup(r, w);
            case GETATTR -> getattr(r, w);
            case SETATTR -> setattr(r, w);
            case READLINK -> w.bytes(r.unique, fs.readlink(path(node(r))));
            case SYMLINK -> {
                Node parent = node(r);
                String path = childPath(parent, r.name(0));
                fs.symlink(r.name(1), path, caller(r));
                yield entryReply(r, w, parent, r.name(0), path);
            }
            case MKNOD -> {
                Node parent = node(r);
                Request.Mknod m = r.mknod();
                String path = childPath(parent, r.name(0));
                fs.mknod(path, m.mode(), Integer.toUnsignedLong(m.rdev()), caller(r));
                yield entryReply(r, w, parent, r.name(0), path);
            }
            case MKDIR -> {
                Node parent = node(r);
                String path = childPath(parent, r.name(0));
                fs.mkdir(path, r.mkdir().mode() & 07777, caller(r));
                yield entryReply(r, w, parent, r.name(0), path);
            }
            case UNLINK, RMDIR -> {
                Node parent = node(r);
                String path = childPath(parent, r.name(0));
                PinnedFile pin = pinBeforeRemoval(parent, r.name(0), path);
                try {
                    if (r.opcode == Opcode.UNLINK) {
                        fs.unlink(path);
                    } else {
                        fs.rmdir(path);
                    }
                } catch (FsException e) {
                    unpin(pin);
                    throw e;
                }
                Node gone = nodes.child(parent, r.name(0));
                if (gone != null) {
                    // The other names' link count changed; found by inode number now, while the name is still
                    // in the table.
                    othersStale(gone);
                }
                nodes.removed(parent, r.name(0));
                nameGone(gone);
                keepPin(gone, pin);
                yield w.empty(r.unique);
            }
            case RENAME, RENAME2 -> rename(r, w);
            case LINK -> link(r, w);
            case OPEN -> open(r, w);
            case CREATE -> create(r, w);
            case READ -> {
                Request.Read rd = r.read();
                ByteBuffer area = w.dataArea(rd.size());
                yield w.data(r.unique, fs.read(file(rd.fh()).file(), area, rd.offset()));
            }
            case WRITE -> {
                Request.Write wr = r.write();
                FileHandle h = file(wr.fh());
                int written = fs.write(h.file(), r.writeData(), wr.offset());
                if ((wr.writeFlags() & FuseAbi.WRITE_KILL_SUIDGID) != 0) {
                    // HANDLE_KILLPRIV_V2: the writer lacks CAP_FSETID. A file passed through is written by the
                    // kernel with the daemon's credentials, and never reaches here: the kernel's own check before
                    // the write sends a SETATTR asking for nothing, answered as chown(path, -1, -1) (setattr).
                    fs.killPrivileges(h.file(), CallerGroups.of(r));
                }
                othersStale(h.node());
                yield w.written(r.unique, written);
            }
            case STATFS -> w.statfs(r.unique, fs.statfs());
            case RELEASE -> {
                releaseFile(r.releaseFh());
                yield w.empty(r.unique);
            }
            // Nothing to do at close(): the real descriptor is closed at RELEASE. ENOSYS tells the kernel so once,
            // and it sends no more FLUSH (one request fewer per close).
            case FLUSH -> w.error(r.unique, ENOSYS);
            case FSYNC -> {
                Request.Fsync f = r.fsync();
                fs.fsync(file(f.fh()).file(), f.dataOnly());
                yield w.empty(r.unique);
            }
            case FSYNCDIR -> w.empty(r.unique);
            case SETXATTR -> {
                Request.Setxattr s = r.setxattr();
                fs.setxattr(path(node(r)), r.name(0), s.value(), s.flags());
                yield w.empty(r.unique);
            }
            case GETXATTR -> xattrReply(r, w, fs.getxattr(path(node(r)), r.name(0)));
            case LISTXATTR -> xattrReply(r, w, fs.listxattr(path(node(r))));
            case REMOVEXATTR -> {
                fs.removexattr(path(node(r)), r.name(0));
                yield w.empty(r.unique);
            }
            case OPENDIR -> {
                Node n = node(r);
                path(n); // a node whose names are all gone has nothing to list (ENOENT)
                long fh = dirs.add(new DirHandle(n));
                InitNegotiation i = init;
                // The kernel keeps its cached listing while the directory's mtime stays, unless told otherwise:
                // after a copy-up below it changed an entry's d_ino, it is not kept.
                int flags = i != null && i.cacheDirectories() ? OpenFlags.CACHE_DIR
                        | (nodes.takeListingChanged(n) ? 0 : OpenFlags.KEEP_CACHE) : 0;
                yield w.open(r.unique, fh, flags);
            }
            case READDIR, READDIRPLUS -> readdir(r, w, r.opcode == Opcode.READDIRPLUS);
            case RELEASEDIR -> {
                dirs.remove(r.releaseFh());
                yield w.empty(r.unique);
            }
            case ACCESS -> {
                fs.access(path(node(r)), r.accessMask(), caller(r));
                yield w.empty(r.unique);
            }
            case FALLOCATE -> {
                Request.Fallocate f = r.fallocate();
                FileHandle h = file(f.fh());
                fs.fallocate(h.file(), f.mode(), f.offset(), f.length());
                othersStale(h.node());
                yield w.empty(r.unique);
            }
            case LSEEK -> {
                Request.Lseek l = r.lseek();
                long offset = fs.lseek(file(l.fh()).file(), l.offset(), l.whence());
                if (offset < 0) {
                    throw new Refused(ENXIO);
                }
                yield w.lseek(r.unique, offset);
            }
            case COPY_FILE_RANGE -> copyFileRange(r, w);
        };
    }

    // ---- helpers ----

    private Node node(Request r) throws Refused {
        return node(r.nodeId);
    }

    private Node node(long id) throws Refused {
        return present(nodes.get(id), ESTALE);
    }

    /** The path of a node; a node whose every name was removed has none (ENOENT). */
    private String path(Node n) throws Refused {
        return present(nodes.path(n), ENOENT);
    }

    private String childPath(Node parent, String name) throws Refused {
        return present(nodes.childPath(parent, name), ENOENT);
    }

    private FileHandle file(long fh) throws Refused {
        return present(files.get(fh), EBADF);
    }

    /** A value that must be there, else the request fails with {@code errno}. */
    private static <T> T present(T value, int errno) throws Refused {
        if (value == null) {
            throw new Refused(errno);
        }
        return value;
    }

    private static Caller caller(Request r) {
        return new Caller(r.uid, r.gid);
    }

    // ---- operations ----

    private ByteBuffer init(Request r, ReplyWriter w) {
        InitNegotiation n = InitNegotiation.negotiate(r.init(), cacheListingsAsked, stackDepth);
        if (n.error() != 0) {
            LOG.error("the kernel speaks FUSE {}.{}; this transport needs 7.{} or later", r.init().major(),
                    r.init().minor(), FuseAbi.MIN_MINOR);
            return w.error(r.unique, n.error());
        }
        LOG.debug("INIT: the kernel offers {}.{} with flags {} {}; answered {}.{} with flags {} {}, max_write {},"
                + " max_stack_depth {}", r.init().major(), r.init().minor(), Integer.toHexString(r.init().flags2()),
                Integer.toHexString(r.init().flags()), n.reply().major(), n.reply().minor(),
                Integer.toHexString(n.reply().flags2()), Integer.toHexString(n.reply().flags()),
                n.reply().maxWrite(), n.reply().maxStackDepth());
        if (r.init().major() == FuseAbi.KERNEL_VERSION) {
            init = n;
            initialized.countDown();
        }
        return w.init(r.unique, n.reply());
    }

    private ByteBuffer lookup(Request r, ReplyWriter w) throws FsException, Refused {
        Node parent = node(r);
        String name = r.name(0);
        String path = childPath(parent, name);
        Stat st;
        try {
            st = fs.stat(path);
        } catch (FsException e) {
            if (e.errno() == Errno.ENOENT && entryValid.sec() + entryValid.nsec() > 0) {
                return w.negativeEntry(r.unique, entryValid);
            }
            throw e;
        }
        Node n = nodes.lookedUp(parent, name, st.ino(), st.mode(), fs.sharedHardLink(path, st));
        return w.entry(r.unique, new Entry(n.id, NodeTable.GENERATION, st), entryValid(st), attrValid);
    }

    /**
     * How long the kernel may keep a name of an object with these attributes without asking again: the mount's
     * timeout, but none for a hard-linked non-directory where index=on. There the names of a lower hard link are
     * one inode to the kernel overlay, so a rename between two of them does nothing, while here each name not yet
     * copied up is a node of its own (a copy-up through one name copies up that name alone) and the kernel, seeing
     * two inodes, moves the source's dentry onto the target's name. With no timeout the next walk through that
     * name asks, is answered the target's own node, and drops the moved dentry. It costs a LOOKUP per walk through
     * such names, on index=on mounts only.
     */
    private Validity entryValid(Stat st) {
        return st.nlink() > 1 && !st.isDirectory() && fs.indexed() ? NO_TIME : entryValid;
    }

    private static final Validity NO_TIME = new Validity(0, 0);

    /** After a create: the new name's node, one lookup more, in an entry reply. */
    private ByteBuffer entryReply(Request r, ReplyWriter w, Node parent, String name, String path)
            throws FsException {
        Stat st = fs.stat(path);
        Node n = nodes.lookedUp(parent, name, st.ino(), st.mode(), false);
        return w.entry(r.unique, new Entry(n.id, NodeTable.GENERATION, st), entryValid(st), attrValid);
    }

    /** The attributes of a node: by handle where one is given or the node has no name left, else by path. */
    private Stat stat(Node n, long fh) throws FsException, Refused {
        if (fh >= 0) {
            return fs.fstat(file(fh).file());
        }
        String p = nodes.path(n);
        if (p != null) {
            Stat st = fs.stat(p);
            nodes.observed(n, st.ino());
            return st;
        }
        long any = nodes.anyHandle(n);
        FileHandle h = any < 0 ? null : files.get(any);
        if (h != null) {
            return fs.fstat(h.file());
        }
        PinnedFile pin = pinned.get(n.id);
        if (pin == null) {
            throw new Refused(ENOENT);
        }
        return fs.fstat(pin);
    }

    private ByteBuffer getattr(Request r, ReplyWriter w) throws FsException, Refused {
        Request.Getattr g = r.getattr();
        Node n = node(r);
        return w.attr(r.unique, stat(n, g.hasFh() && files.get(g.fh()) != null ? g.fh() : -1), attrValid);
    }

    /**
     * In libfuse's order: mode, owner, size, times. By path; a node whose names are all gone (fchmod after unlink)
     * through one of its open files instead, as the kernel does not send a handle with most SETATTRs.
     */
    private ByteBuffer setattr(Request r, ReplyWriter w) throws FsException, Refused {
        Request.Setattr s = r.setattr();
        Node n = node(r);
        othersStale(n);
        long fh = s.has(SetattrValid.FH) && files.get(s.fh()) != null ? s.fh() : -1;
        OpenFile nameless = null;
        if (nodes.nameless(n)) {
            long any = fh >= 0 ? fh : nodes.anyHandle(n);
            FileHandle h = any < 0 ? null : files.get(any);
            PinnedFile pin = pinned.get(n.id);
            if (h == null && pin != null && s.has(SetattrValid.MODE)) {
                // fchmod of a removed fifo, device or directory: through its pin.
                fs.fchmod(pin, s.mode());
                return w.attr(r.unique, stat(n, -1), attrValid);
            }
            nameless = present(h, ENOENT).file();
        }
        boolean changes = s.has(SetattrValid.MODE) || s.has(SetattrValid.UID) || s.has(SetattrValid.GID)
                || s.has(SetattrValid.SIZE) || s.has(SetattrValid.ATIME) || s.has(SetattrValid.MTIME);
        // The attributes after the last change by path, and how many changes were made: after one (a chmod,
        // a chown, a touch) the reply takes them as they are, without another lookup.
        Stat after = null;
        int made = 0;
        if (!changes && nameless == null) {
            // A SETATTR that changes nothing still copies the object up, as the kernel overlay's setattr does for
            // any change asked: the engine's chown to (-1, -1) is exactly that. It comes from chown(path, -1, -1),
            // and, with HANDLE_KILLPRIV_V2, from the kernel's check before a write by a caller without
            // CAP_FSETID of a file with setuid or setgid (or by anyone of a file with security.capability, whose
            // removal comes first as a REMOVEXATTR): the real chown takes setuid, and setgid where group execution
            // is on, as both want, except that a writer holding CAP_FSETID keeps them on the kernel overlay.
            Privileges.Groups unprivileged = unprivileged(r);
            if (unprivileged != null) {
                mayTakePrivileges(r.uid, unprivileged, n);
            }
            after = fs.chown(path(n), -1, -1, unprivileged);
            made++;
        }
        if (s.has(SetattrValid.MODE)) {
            if (nameless != null) {
                fs.fchmod(nameless, s.mode());
            } else {
                after = fs.chmod(path(n), s.mode());
            }
            made++;
        }
        if (s.has(SetattrValid.UID) || s.has(SetattrValid.GID)) {
            int uid = s.has(SetattrValid.UID) ? s.uid() : -1;
            int gid = s.has(SetattrValid.GID) ? s.gid() : -1;
            if (nameless != null) {
                fs.fchown(nameless, uid, gid);
            } else {
                after = fs.chown(path(n), uid, gid, unprivileged(r));
            }
            made++;
        }
        if (s.has(SetattrValid.SIZE)) {
            made++;
            // HANDLE_KILLPRIV_V2: a truncate by a caller without CAP_FSETID takes setuid and setgid too. A chown's
            // KILL_SUIDGID is the real chown's to honour: it takes them whoever makes it.
            Privileges.Groups kill = s.has(SetattrValid.KILL_SUIDGID) ? CallerGroups.of(r) : null;
            if (fh >= 0 || nameless != null) {
                OpenFile f = fh >= 0 ? file(fh).file() : nameless;
                fs.ftruncate(f, s.size());
                if (kill != null) {
                    fs.killPrivileges(f, kill);
                }
            } else {
                fs.truncate(path(n), s.size(), kill);
            }
        }
        if (s.has(SetattrValid.ATIME) || s.has(SetattrValid.MTIME)) {
            Timespec atime = time(s.has(SetattrValid.ATIME), s.has(SetattrValid.ATIME_NOW), s.atime(),
                    s.atimeNsec());
            Timespec mtime = time(s.has(SetattrValid.MTIME), s.has(SetattrValid.MTIME_NOW), s.mtime(),
                    s.mtimeNsec());
            if (nameless != null) {
                fs.futimens(nameless, atime, mtime);
            } else {
                after = fs.utimens(path(n), atime, mtime);
            }
            made++;
        }
        if (made == 1 && after != null && fh < 0) {
            nodes.observed(n, after.ino());
            return w.attr(r.unique, after, attrValid);
        }
        return w.attr(r.unique, stat(n, fh), attrValid);
    }

    private static Timespec time(boolean set, boolean now, long sec, int nsec) {
        if (!set) {
            return Timespec.OMIT;
        }
        return now ? Timespec.NOW : new Timespec(sec, Integer.toUnsignedLong(nsec));
    }

    private ByteBuffer rename(Request r, ReplyWriter w) throws FsException, Refused {
        Request.Rename rn = r.rename();
        Node oldParent = node(r);
        Node newParent = node(rn.newDir());
        String from = childPath(oldParent, r.name(0));
        String to = childPath(newParent, r.name(1));
        // RENAME_WHITEOUT: the engine makes whiteouts only for itself; between two names of one object it is
        // answered as any rename between them, below.
        boolean whiteout = (rn.flags() & ~(RenameFlags.NOREPLACE | RenameFlags.EXCHANGE)) != 0;
        if (whiteout && !oneIndexedObject(from, to)) {
            throw new Refused(EINVAL);
        }
        boolean exchange = (rn.flags() & RenameFlags.EXCHANGE) != 0;
        // A rename onto a name removes what it named, unless the two swap.
        PinnedFile pin = exchange || whiteout ? null : pinBeforeRemoval(newParent, r.name(1), to);
        boolean changed;
        try {
            changed = !whiteout && fs.rename(from, to, rn.flags());
        } catch (FsException e) {
            unpin(pin);
            throw e;
        }
        if (!changed) {
            // Two names of one object: the kernel overlay's VFS answers 0 before any file system is asked (source
            // == target) and each name stays as it was. With index=on the names of a lower hard link are that, and
            // nodes of their own here (each name not yet copied up must be copied up by itself), so the kernel
            // moves the source's dentry onto the target's name. The table keeps each name's node, and the moved
            // dentry, given no entry timeout (entryValid), is asked again at the next walk through it, which
            // finds the target's own node.
            unpin(pin);
            return w.empty(r.unique);
        }
        Node replaced = exchange ? null : nodes.child(newParent, r.name(1));
        if (replaced != null) {
            // As an unlink: the other names of what was replaced show one link fewer.
            othersStale(replaced);
        }
        nodes.renamed(oldParent, r.name(0), newParent, r.name(1), exchange);
        nameGone(replaced);
        keepPin(replaced, pin);
        return w.empty(r.unique);
    }

    /** With index=on, whether two names show one regular file (the same inode number); false on any failure. */
    private boolean oneIndexedObject(String a, String b) {
        if (!fs.indexed()) {
            return false;
        }
        try {
            Stat sa = fs.stat(a);
            Stat sb = fs.stat(b);
            return sa.isRegularFile() && sb.isRegularFile() && sa.ino() == sb.ino();
        } catch (FsException e) {
            return false;
        }
    }

    /**
     * Before a name is removed: the real object of a node the removal leaves nameless while the kernel may still
     * ask for its attributes ({@link NodeTable#namelessAfterRemoval}), or null.
     */
    private PinnedFile pinBeforeRemoval(Node parent, String name, String path) {
        if (nodes.namelessAfterRemoval(parent, name) == null) {
            return null;
        }
        try {
            return fs.pin(path);
        } catch (FsException e) {
            return null; // nothing there to pin: the removal fails or the name was not this node's
        }
    }

    /** After a removal: the pin stays with a node that is now nameless, else it is closed. */
    private void keepPin(Node n, PinnedFile pin) {
        if (pin == null) {
            return;
        }
        if (n != null && nodes.nameless(n)) {
            pinned.pin(n.id, pin);
        } else {
            pin.close();
        }
    }

    private static void unpin(PinnedFile pin) {
        if (pin != null) {
            pin.close();
        }
    }

    private void forget(long id, long count) {
        Node n = nodes.get(id);
        nodes.forget(id, count);
        if (n != null && nodes.get(id) == null) {
            pinned.forgotten(id);
            backings.drop(n);
        }
    }

    /**
     * After a removal or a rename over a name: where that was the node's last name its kept backing is closed, so
     * that the kernel lets go of a removed file (its space is freed as on the kernel overlay).
     */
    private void nameGone(Node n) {
        if (n != null && nodes.nameless(n)) {
            backings.drop(n);
        }
    }

    private ByteBuffer link(Request r, ReplyWriter w) throws FsException, Refused {
        Node target = node(r.linkOldNodeId());
        Node parent = node(r);
        String to = childPath(parent, r.name(0));
        fs.link(path(target), to);
        othersStale(target);
        Stat st = fs.stat(to);
        Node n = nodes.linked(target, parent, r.name(0), st.ino());
        return w.entry(r.unique, new Entry(n.id, NodeTable.GENERATION, st), entryValid(st), attrValid);
    }

    private ByteBuffer open(Request r, ReplyWriter w) throws FsException, Refused {
        Node n = node(r);
        OpenFile f = fs.open(path(n), r.openFlags() & ~(O_CREAT | O_EXCL | O_NOCTTY), 0, caller(r),
                fsetid(r.openOpenFlags()), CallerGroups.of(r));
        Opened o = opened(n, f);
        return w.open(r.unique, o.fh(), o.flags(), o.backingId());
    }

    /**
     * Whether the caller of an OPEN or CREATE holds CAP_FSETID (which keeps setuid and setgid through O_TRUNC):
     * with HANDLE_KILLPRIV_V2 the kernel says so (FUSE_OPEN_KILL_SUIDGID where it does not); null without it, and
     * the engine judges by who the caller is.
     */
    private Boolean fsetid(int openFlags) {
        InitNegotiation i = init;
        if (i == null || !i.has(FuseAbi.InitFlags.HANDLE_KILLPRIV_V2)) {
            return null;
        }
        return (openFlags & FuseAbi.OPEN_KILL_SUIDGID) == 0;
    }

    /**
     * Refuses, with EPERM, a SETATTR that changes nothing where it would take setuid or setgid from a file that is
     * not the caller's, the caller being unprivileged ({@code groups} its groups) and unable to write the file. With
     * HANDLE_KILLPRIV_V2 the kernel sends such a request for chown(path, -1, -1) and, before a write by a caller
     * without CAP_FSETID, for its own taking of the bits, and the two cannot be told apart: the kernel overlay
     * refuses the first (taking them is a change of mode, the owner's alone) and makes the second. Only a caller
     * who may write a regular file can be writing it; one who may is taken to be (README, "How layerfs differs").
     * Any other file (a fifo, a device, a socket) is never written through the daemon: there the request is a
     * chown, refused whoever may write.
     */
    private void mayTakePrivileges(int uid, Privileges.Groups groups, Node n) throws FsException, Refused {
        Stat st = fs.stat(path(n));
        if (st.uid() == uid || Privileges.killed(st.mode(), st.gid(), groups, IdMapping.IDENTITY) == st.mode()) {
            return;
        }
        if (!st.isRegularFile() || !Permissions.allows(st, uid, groups, Linux.W_OK)) {
            throw new Refused(EPERM);
        }
    }

    /**
     * The groups of a caller taken to lack CAP_FSETID (the kernel does not say for a chown): a file outside them
     * loses setgid without group execution as well (see {@link Privileges}); null for a privileged caller.
     */
    private Privileges.Groups unprivileged(Request r) {
        return fs.privileged(caller(r)) ? null : CallerGroups.of(r);
    }

    /** An open file registered: its handle, the FOPEN_* flags and the backing id its reply carries. */
    private record Opened(long fh, int flags, int backingId) {}

    /**
     * Registers an open file of a node and decides how the kernel reads and writes it: through a backing file
     * (FOPEN_PASSTHROUGH) where the mode and the node's other opens allow, else with READ and WRITE requests. A
     * served file on a lower layer keeps the kernel's page cache across opens (nothing changes it but writes
     * through this mount, which go through that cache). An open whose node is passed through on another real
     * file (a lower file since copied up) is refused with ESTALE after its node loses its names: the kernel
     * looks the name up again, gets a new node, and opens the upper copy. Where INIT settled on no passthrough
     * (off, or not offered by the kernel) every open is served and {@link Backings} is not consulted at all.
     */
    private Opened opened(Node n, OpenFile f) throws Refused {
        InitNegotiation i = init;
        boolean backed = i != null && i.passthrough();
        int backing = backed ? backings.opened(n, f, passThrough(f)) : Backings.SERVED;
        if (backing == Backings.CONFLICT) {
            fs.release(f);
            nodes.replaced(n);
            backings.drop(n); // closed with the last release of the opens on the old file
            throw new Refused(ESTALE);
        }
        long fh = files.add(new FileHandle(n, f, backed));
        nodes.opened(n, fh);
        if (backing != Backings.SERVED) {
            return new Opened(fh, OpenFlags.PASSTHROUGH, backing);
        }
        return new Opened(fh, f.onUpper() ? 0 : OpenFlags.KEEP_CACHE, 0);
    }

    /**
     * Whether an open file is wanted on a backing, passthrough being negotiated: see {@link PassthroughMode}. Not
     * a file that other nodes may name (see {@link #namedByOtherNodes}): the kernel would write it without a
     * request, and the other nodes would keep their attributes and pages.
     */
    private boolean passThrough(OpenFile f) {
        boolean wanted = switch (passthrough) {
            case OFF -> false;
            case ALL -> true;
            case UPPER -> f.onUpper() || fs.readOnly();
        };
        return wanted && !namedByOtherNodes(f);
    }

    /**
     * With index=on, a regular file with more than one name may be open through one node and looked at through
     * others (the names of a lower hard link are nodes of their own until each is copied up): its writes are
     * served, so that each is told to those nodes ({@link #othersStale}), as the kernel overlay's one inode shows
     * them through every name. Costs an fstat per open, on index=on mounts only; a file whose attributes cannot
     * be read is served.
     */
    private boolean namedByOtherNodes(OpenFile f) {
        if (!fs.indexed()) {
            return false;
        }
        try {
            return fs.fstat(f).nlink() >= 2;
        } catch (FsException e) {
            return true;
        }
    }

    private ByteBuffer copyFileRange(Request r, ReplyWriter w) throws FsException, Refused {
        Request.CopyFileRange c = r.copyFileRange();
        if (c.flags() != 0) {
            throw new Refused(EINVAL);
        }
        FileHandle in = file(c.fhIn());
        FileHandle out = file(c.fhOut());
        long copied = fs.copyFileRange(in.file(), c.offIn(), out.file(), c.offOut(), Math.min(c.length(), MAX_COPY));
        othersStale(out.node());
        return w.written(r.unique, (int) copied);
    }

    private ByteBuffer create(Request r, ReplyWriter w) throws FsException, Refused {
        Node parent = node(r);
        Request.Create c = r.create();
        String name = r.name(0);
        String path = childPath(parent, name);
        OpenFile f = fs.open(path, c.flags() | O_CREAT, c.mode() & 07777, caller(r), fsetid(c.openFlags()),
                CallerGroups.of(r));
        Stat st;
        try {
            st = fs.fstat(f);
        } catch (FsException e) {
            fs.release(f);
            throw e;
        }
        Node n = nodes.lookedUp(parent, name, st.ino(), st.mode(), false);
        Opened o;
        try {
            o = opened(n, f);
        } catch (Refused e) {
            nodes.forget(n.id, 1);
            throw e;
        }
        return w.create(r.unique, new Entry(n.id, NodeTable.GENERATION, st), entryValid(st), attrValid, o.fh(),
                o.flags(), o.backingId());
    }

    /** The xattr size protocol: size 0 asks for the length; a buffer too small is ERANGE. */
    private static ByteBuffer xattrReply(Request r, ReplyWriter w, byte[] value) throws Refused {
        int size = r.xattrSize();
        if (size == 0) {
            return w.xattrSize(r.unique, value.length);
        }
        if (Integer.toUnsignedLong(size) < value.length) {
            throw new Refused(ERANGE);
        }
        return w.bytes(r.unique, value);
    }

    /**
     * A listing resumes at an offset: 0 is ".", 1 is "..", 2 + i the i-th merged entry; each entry's offset is
     * the one after it. With READDIRPLUS each real entry is looked up (one lookup more for its node) only once
     * it is known to fit.
     */
    private ByteBuffer readdir(Request r, ReplyWriter w, boolean plus) throws FsException, Refused {
        Request.Read rd = r.read();
        DirHandle d = present(dirs.get(rd.fh()), EBADF);
        List<OverlayBridge.Listed> entries = listing(d, rd.offset() <= 0);
        ReplyWriter.Dirents out = w.dirents(rd.size());
        long dirIno = nodes.ino(d.node);
        long start = Math.max(0, rd.offset());
        int total = entries.size() + 2;
        String dirPath = null;
        for (long i = start; i < total; i++) {
            boolean ok;
            if (i < 2) {
                byte[] name = i == 0 ? DOT : DOTDOT;
                ok = plus ? out.addPlus(null, entryValid, attrValid, dirIno, i + 1, DT_DIR, name)
                        : out.add(dirIno, i + 1, DT_DIR, name);
            } else {
                OverlayBridge.Listed e = entries.get((int) (i - 2));
                byte[] name = e.name().getBytes(StandardCharsets.ISO_8859_1);
                int type = e.type() >>> 12;
                if (!plus) {
                    ok = out.add(e.ino(), i + 1, type, name);
                } else if (!out.fits(name.length, true)) {
                    ok = false;
                } else {
                    if (dirPath == null) {
                        dirPath = path(d.node);
                    }
                    Entry entry = plusEntry(d.node, dirPath, e.name());
                    ok = out.addPlus(entry, entry == null ? entryValid : entryValid(entry.stat()), attrValid,
                            e.ino(), i + 1, type, name);
                }
            }
            if (!ok) {
                break;
            }
        }
        return out.finish(r.unique);
    }

    /** The merged listing of an open directory: read afresh where {@code fromStart}, else the one being read. */
    private List<OverlayBridge.Listed> listing(DirHandle d, boolean fromStart) throws FsException, Refused {
        synchronized (d) {
            if (fromStart || d.entries == null) {
                d.entries = fs.list(path(d.node));
            }
            return d.entries;
        }
    }

    /** The entry of a listed name, or null where it vanished since the listing was made. */
    private Entry plusEntry(Node dir, String dirPath, String name) throws FsException {
        String path = dirPath.isEmpty() ? name : dirPath + "/" + name;
        Stat st;
        try {
            st = fs.stat(path);
        } catch (FsException e) {
            if (e.errno() == Errno.ENOENT) {
                return null;
            }
            throw e;
        }
        Node n = nodes.lookedUp(dir, name, st.ino(), st.mode(), fs.sharedHardLink(path, st));
        return new Entry(n.id, NodeTable.GENERATION, st);
    }

    private static final byte[] DOT = {'.'};
    private static final byte[] DOTDOT = {'.', '.'};
    private static final int DT_DIR = 4;
}
