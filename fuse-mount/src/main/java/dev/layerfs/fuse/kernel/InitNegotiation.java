package dev.layerfs.fuse.kernel;

import dev.layerfs.core.error.Errno;
import dev.layerfs.fuse.kernel.FuseAbi.FlagMinor;
import dev.layerfs.fuse.kernel.FuseAbi.InitFlags;
import dev.layerfs.fuse.kernel.FuseAbi.InitFlags2;

/**
 * The INIT handshake, decided from what the kernel offers: the protocol minor (the lower of the kernel's and
 * {@link FuseAbi#MAX_MINOR}), and each flag only where the kernel both offers it and speaks the minor that brought
 * it. Nothing here reads or writes bytes.
 *
 * @param error an errno to answer INIT with (a protocol this transport cannot speak), or 0
 * @param reply what the INIT reply says (null with an error)
 * @param cacheDirectories whether OPENDIR replies may ask the kernel to cache listings (FOPEN_CACHE_DIR)
 * @param passthrough whether OPEN and CREATE may hand the kernel a backing file (FUSE_PASSTHROUGH)
 */
record InitNegotiation(int error, ReplyWriter.InitReply reply, boolean cacheDirectories, boolean passthrough) {
    /** 1 MiB writes (256 pages) with FUSE_MAX_PAGES; 32 pages without. */
    static final int MAX_WRITE = 1 << 20;
    static final int MAX_PAGES = MAX_WRITE / 4096;
    static final int MAX_WRITE_WITHOUT_MAX_PAGES = 32 * 4096;
    private static final int EPROTO = Errno.EPROTO.code();
    private static final int MAX_BACKGROUND = 12;
    private static final int CONGESTION_THRESHOLD = 9;

    /**
     * The flags asked for, each with the minor that brought it (0: every minor this transport speaks). POSIX_ACL:
     * the kernel checks permissions with the objects' POSIX ACLs, as the kernel overlay does with the real
     * inodes' (without it the mode bits alone decide), and caches each inode's ACLs instead of asking for
     * {@code system.posix_acl_access} at every {@code ls -l} of every name. CACHE_SYMLINKS: the kernel keeps a
     * symbolic link's target in its page cache instead of sending READLINK at every walk through the link (a
     * container's {@code /lib -> usr/lib} at every exec): a node is one object, and a link's target never
     * changes (a new link at the name is a new node). HANDLE_KILLPRIV_V2: the daemon takes setuid and setgid
     * from a file where the kernel says the caller lacks CAP_FSETID (FUSE_WRITE_KILL_SUIDGID on a WRITE,
     * FATTR_KILL_SUIDGID on a truncate's SETATTR, FUSE_OPEN_KILL_SUIDGID on an O_TRUNC open), and the real file
     * system takes {@code security.capability} at every write, truncate and chown. The kernel then sends no
     * GETATTR before each chown (to compute the mode without them), and asks for {@code security.capability}
     * before a write once per inode instead of before every write (SB_NOSEC): in an untar of 3,000 files as
     * root, 4,691 GETXATTRs and 3,020 GETATTRs fewer (36,072 requests to 28,361).
     */
    private static final int[][] WANTED = {
        {InitFlags.ASYNC_READ, 0},
        {InitFlags.ATOMIC_O_TRUNC, 0},
        {InitFlags.BIG_WRITES, 0},
        {InitFlags.AUTO_INVAL_DATA, FlagMinor.AUTO_INVAL_DATA},
        {InitFlags.DO_READDIRPLUS, FlagMinor.DO_READDIRPLUS},
        {InitFlags.READDIRPLUS_AUTO, FlagMinor.READDIRPLUS_AUTO},
        {InitFlags.PARALLEL_DIROPS, FlagMinor.PARALLEL_DIROPS},
        {InitFlags.POSIX_ACL, FlagMinor.POSIX_ACL},
        {InitFlags.MAX_PAGES, FlagMinor.MAX_PAGES},
        {InitFlags.CACHE_SYMLINKS, FlagMinor.CACHE_SYMLINKS},
        {InitFlags.HANDLE_KILLPRIV_V2, FlagMinor.HANDLE_KILLPRIV_V2},
    };

    /**
     * @param kernel the kernel's INIT request
     * @param cacheListings whether directory listings may be cached at all (the mount's timeout is not 0)
     * @param stackDepth the max_stack_depth to ask passthrough with: 1 over plain filesystems, 2 where a layer
     *     lies on an overlay or FUSE mount; 0 for no passthrough. It is asked for only without WRITEBACK_CACHE
     *     (never asked here), which the kernel requires.
     */
    static InitNegotiation negotiate(Request.Init kernel, boolean cacheListings, int stackDepth) {
        if (kernel.major() > FuseAbi.KERNEL_VERSION) {
            // The kernel will send another INIT with our major.
            return new InitNegotiation(0, new ReplyWriter.InitReply(FuseAbi.KERNEL_VERSION, FuseAbi.MAX_MINOR, 0,
                    0, 0, 0, 0, 0, 0, 0, 0), false, false);
        }
        if (kernel.major() < FuseAbi.KERNEL_VERSION || kernel.minor() < FuseAbi.MIN_MINOR) {
            return new InitNegotiation(EPROTO, null, false, false);
        }
        int minor = Math.min(kernel.minor(), FuseAbi.MAX_MINOR);
        int flags = 0;
        for (int[] w : WANTED) {
            if (minor >= w[1] && (kernel.flags() & w[0]) != 0) {
                flags |= w[0];
            }
        }
        int flags2 = 0;
        boolean passthrough = stackDepth > 0 && stackDepth <= FuseAbi.MAX_STACK_DEPTH
                && minor >= FlagMinor.PASSTHROUGH && (kernel.flags() & InitFlags.INIT_EXT) != 0
                && (kernel.flags2() & InitFlags2.PASSTHROUGH) != 0;
        if (passthrough) {
            flags |= InitFlags.INIT_EXT;
            flags2 |= InitFlags2.PASSTHROUGH;
        }
        boolean maxPages = (flags & InitFlags.MAX_PAGES) != 0;
        int maxWrite = maxPages ? MAX_WRITE : MAX_WRITE_WITHOUT_MAX_PAGES;
        ReplyWriter.InitReply reply = new ReplyWriter.InitReply(FuseAbi.KERNEL_VERSION, minor, kernel.maxReadahead(),
                flags, MAX_BACKGROUND, CONGESTION_THRESHOLD, maxWrite, 1, maxPages ? MAX_PAGES : 0, flags2,
                passthrough ? stackDepth : 0);
        return new InitNegotiation(0, reply, cacheListings && minor >= FlagMinor.CACHE_DIR, passthrough);
    }

    boolean has(int flag) {
        return reply != null && (reply.flags() & flag) != 0;
    }
}
