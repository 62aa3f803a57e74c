package dev.layerfs.image.extract;

import dev.layerfs.image.names.ByteNames;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Extracts one layer tar into a new directory, keeping modes (setuid, setgid, sticky included), owners, mtimes,
 * hard links, symlinks, device nodes, fifos, holes (any 64 KiB run of zeros becomes a hole) and xattrs, and
 * turning the OCI whiteouts into the form the kernel overlay and layerfs read: {@code .wh.NAME} becomes a
 * character device 0/0 named NAME, {@code .wh..wh..opq} the xattr {@code trusted.overlay.opaque=y} on its
 * directory. Every name passes {@link PathGuard}; the first unsafe one stops the extraction.
 */
public final class LayerExtractor {
    static final String WHITEOUT_PREFIX = ".wh.";
    static final String OPAQUE_MARKER = ".wh..wh..opq";
    private static final int CHUNK = 1 << 16;
    private static final byte[] ZEROS = new byte[CHUNK];

    /** What an extraction wrote. */
    public record Stats(long entries, long fileBytes) {}

    private final Path root;
    private final PathGuard guard;
    private final byte[] buf = new byte[CHUNK];
    /** Directories' mtimes, set at the end: writing inside a directory changes its mtime. */
    private final List<Map.Entry<Path, FileTime>> dirTimes = new ArrayList<>();
    private long entries;
    private long fileBytes;

    private LayerExtractor(Path root) {
        this.root = root;
        this.guard = new PathGuard(root);
    }

    /**
     * Extracts the tar read from {@code tar} into {@code root} (an existing, empty directory). Does not read past
     * the tar's end-of-archive blocks: the caller drains the stream to finish its digest.
     */
    public static Stats extract(InputStream tar, Path root) throws IOException, UnsafeEntryException {
        return new LayerExtractor(root).run(tar);
    }

    private Stats run(InputStream raw) throws IOException, UnsafeEntryException {
        PaxRawTap tap = new PaxRawTap(raw);
        // ISO-8859-1: header names as one char per byte; PAX names come raw from the tap
        TarArchiveInputStream tar = new TarArchiveInputStream(tap, "ISO-8859-1");
        TarArchiveEntry e;
        while ((e = tar.getNextEntry()) != null) {
            PaxRawTap.Raw pax = tap.nextEntry();
            entries++;
            String name = ByteNames.fsName(pax.path() != null ? pax.path() : e.getName());
            String link = pax.linkPath() != null ? pax.linkPath() : e.getLinkName();
            entry(tar, e, name, link, pax.xattrs());
        }
        for (int i = dirTimes.size() - 1; i >= 0; i--) {
            setTime(dirTimes.get(i).getKey(), dirTimes.get(i).getValue());
        }
        return new Stats(entries, fileBytes);
    }

    /**
     * One entry: {@code name} as the file APIs take it, {@code link} (a link's target) one char per byte as the
     * archive has it.
     */
    private void entry(InputStream data, TarArchiveEntry e, String name, String link, Map<String, byte[]> xattrs)
            throws IOException, UnsafeEntryException {
        List<String> parts = PathGuard.components(name);
        String base = parts.isEmpty() ? "" : parts.get(parts.size() - 1);
        if (base.startsWith(WHITEOUT_PREFIX)) {
            whiteout(name, base, e);
            return;
        }
        Path p = guard.prepare(name);
        if (e.isDirectory()) {
            if (!p.equals(root)) {
                try {
                    Files.createDirectory(p);
                } catch (FileAlreadyExistsException taken) {
                    BasicFileAttributes a = PathGuard.lstat(p);
                    if (a == null || !a.isDirectory()) {
                        replaceExisting(p);
                        Files.createDirectory(p);
                    }
                }
            }
            metadata(p, e, xattrs, false);
            dirTimes.add(Map.entry(p, FileTime.from(e.getLastModifiedTime().toInstant())));
            return;
        }
        if (p.equals(root)) {
            throw new UnsafeEntryException(name, "a non-directory at the layer's root");
        }
        if (e.isLink()) {
            Path target = guard.linkTarget(name, ByteNames.fsName(link));
            create(p, () -> Files.createLink(p, target));
            return;
        }
        if (e.isSymbolicLink()) {
            create(p, () -> Posix.symlink(link.getBytes(StandardCharsets.ISO_8859_1), p));
        } else if (e.isCharacterDevice() || e.isBlockDevice() || e.isFIFO()) {
            int type = e.isFIFO() ? Posix.S_IFIFO : e.isCharacterDevice() ? Posix.S_IFCHR : Posix.S_IFBLK;
            create(p, () -> Posix.mknod(p, type, e.getMode(), e.getDevMajor(), e.getDevMinor()));
        } else if (e.isFile()) {
            create(p, () -> writeFile(data, p, e.getRealSize()));
        } else {
            throw new IOException("entry " + name + " has a tar type this store does not keep");
        }
        metadata(p, e, xattrs, true);
    }

    /** {@code .wh.NAME} and {@code .wh..wh..opq}; other {@code .wh..wh.} names (aufs metadata) are skipped. */
    private void whiteout(String name, String base, TarArchiveEntry e) throws IOException, UnsafeEntryException {
        if (base.equals(OPAQUE_MARKER)) {
            Path dir = guard.prepare(name).getParent();
            Posix.setXattr(dir, "trusted.overlay.opaque", new byte[] {'y'});
            return;
        }
        if (base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) {
            return;
        }
        String hidden = base.substring(WHITEOUT_PREFIX.length());
        if (hidden.isEmpty() || hidden.equals(".") || hidden.equals("..")) {
            throw new UnsafeEntryException(name, "a whiteout of no valid name");
        }
        Path p = guard.prepare(name).resolveSibling(hidden);
        create(p, () -> Posix.mknod(p, Posix.S_IFCHR, 0, 0, 0));
        Posix.lchown(p, 0, 0);
        setTime(p, FileTime.from(e.getLastModifiedTime().toInstant()));
    }

    /** Something that makes one object, failing with FileAlreadyExistsException where the name is taken. */
    private interface Creation {
        void run() throws IOException;
    }

    /**
     * Makes an object; where an earlier entry of this layer took the name, removes that and makes it again (a later
     * entry replaces an earlier one, as tar does). Trying first costs nothing for the usual new name, where looking
     * first would cost a stat per entry.
     */
    private void create(Path p, Creation c) throws IOException {
        try {
            c.run();
        } catch (FileAlreadyExistsException taken) {
            replaceExisting(p);
            c.run();
        }
    }

    /** Removes what an earlier entry of this layer put at the name. */
    private void replaceExisting(Path p) throws IOException {
        BasicFileAttributes a = PathGuard.lstat(p);
        if (a == null) {
            return;
        }
        guard.forget();
        if (a.isDirectory()) {
            dev.layerfs.image.store.LayerStore.deleteTree(p);
        } else {
            Files.delete(p);
        }
    }

    /** Writes a regular file, leaving a hole for each whole chunk of zeros. */
    private void writeFile(InputStream data, Path p, long size) throws IOException {
        long pos = 0;
        boolean endsInHole = false;
        try (SeekableByteChannel ch = Files.newByteChannel(p, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
            while (pos < size) {
                int want = (int) Math.min(CHUNK, size - pos);
                int n = data.readNBytes(buf, 0, want);
                if (n < want) {
                    throw new java.io.EOFException("the layer's tar ends inside " + root.relativize(p));
                }
                endsInHole = n == CHUNK && Arrays.equals(buf, 0, n, ZEROS, 0, n);
                if (endsInHole) {
                    ch.position(pos + n);
                } else {
                    ch.write(ByteBuffer.wrap(buf, 0, n));
                }
                pos += n;
            }
        }
        if (endsInHole) {
            Posix.truncate(p, size);
        }
        fileBytes += size;
    }

    /** Owner, mode, xattrs, then (for non-directories) the mtime, in that order: chown clears setuid bits. */
    private void metadata(Path p, TarArchiveEntry e, Map<String, byte[]> xattrs, boolean time) throws IOException {
        Posix.lchown(p, (int) e.getLongUserId(), (int) e.getLongGroupId());
        if (!e.isSymbolicLink()) {
            Posix.chmod(p, e.getMode());
        }
        for (Map.Entry<String, byte[]> x : xattrs.entrySet()) {
            // An overlay's own xattrs in a layer would change what the mount shows (another opaque marker,
            // a redirect): the OCI format expresses these with .wh. entries only, so they are not copied.
            if (!x.getKey().startsWith("trusted.overlay.") && !x.getKey().startsWith("user.overlay.")) {
                Posix.setXattr(p, x.getKey(), x.getValue());
            }
        }
        if (time) {
            setTime(p, FileTime.from(e.getLastModifiedTime().toInstant()));
        }
    }

    private static void setTime(Path p, FileTime t) throws IOException {
        Posix.setTimes(p, t.toInstant());
    }
}
