package dev.layerfs.image.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The store's directories. Its top is an OCI image layout (oci-layout, index.json, blobs/sha256/HEX: layer blobs,
 * manifests and configs as imported), and beside it:
 * <ul>
 *   <li>{@code layers/HEX/root}: a layer extracted once, keyed by its diff_id (the digest of the uncompressed
 *       tar), with {@code layers/HEX/layer.json} holding what extraction measured, and an empty
 *       {@code layers/HEX/blob-BLOBHEX} for each compressed blob checked to decompress to it;
 *   <li>{@code locks/}: one lock file per layer and one for index.json (advisory locks, held while writing);
 *   <li>{@code tmp/PID-RANDOM/}: work in progress. Everything is made there and renamed into place, so a killed
 *       import leaves only a tmp directory, removed by the next command once its process is gone;
 *   <li>{@code mounts/ID/}: what {@code image mount} recorded about a mount (see {@link MountRecords}).
 * </ul>
 */
public final class LayerStore {
    /** Numbers this process's temporary names. */
    private static final AtomicLong TEMP_SEQUENCE = new AtomicLong();
    private final Path root;

    private LayerStore(Path root) {
        this.root = root;
    }

    /** Opens the store at {@code root}, creating its directories the first time. */
    public static LayerStore open(Path root) throws ImageStoreException {
        try {
            Path r = root.toAbsolutePath().normalize();
            for (String d : new String[] {"blobs/sha256", "layers", "locks", "tmp", "mounts"}) {
                // a stat for a directory there already (createDirectories would try mkdir, and throw, first)
                Path p = r.resolve(d);
                if (!Files.isDirectory(p)) {
                    Files.createDirectories(p);
                }
            }
            if (!Files.exists(r.resolve("oci-layout"))) {
                writeAtomically(r, r.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}".getBytes());
            }
            LayerStore store = new LayerStore(r);
            store.removeStaleTemp();
            return store;
        } catch (IOException e) {
            throw new ImageStoreException("cannot open the store " + root + ": " + e.getMessage(), e);
        }
    }

    public Path root() {
        return root;
    }

    public Path blob(Digest d) {
        return root.resolve("blobs/sha256").resolve(d.hex());
    }

    public boolean hasBlob(Digest d) {
        return Files.isRegularFile(blob(d));
    }

    public Path layersDir() {
        return root.resolve("layers");
    }

    public Path layerDir(Digest diffId) {
        return layersDir().resolve(diffId.hex());
    }

    /** The directory a mount uses as the layer's lowerdir. */
    public Path layerRoot(Digest diffId) {
        return layerDir(diffId).resolve("root");
    }

    public boolean hasLayer(Digest diffId) {
        return Files.isDirectory(layerRoot(diffId));
    }

    /**
     * Whether blob {@code blob} was checked to decompress to layer {@code diffId}: an uncompressed blob is its
     * layer's tar (the same digest); a compressed one was so checked when {@link #recordBlobOf} says so.
     */
    public boolean blobVerifiedFor(Digest diffId, Digest blob) {
        return blob.equals(diffId) || Files.exists(layerDir(diffId).resolve(BLOB_MARK + blob.hex()));
    }

    /**
     * Records, once the layer and the blob are in place, that the blob was checked to decompress to the layer:
     * an empty {@code layers/DIFF_ID/blob-HEX}. A fact about two digests, so it never goes stale; it goes with
     * the layer's directory.
     */
    public void recordBlobOf(Digest diffId, Digest blob) throws IOException {
        if (!blobVerifiedFor(diffId, blob)) {
            try {
                Files.createFile(layerDir(diffId).resolve(BLOB_MARK + blob.hex()));
            } catch (FileAlreadyExistsException e) {
                // another import recorded it meanwhile
            }
        }
    }

    private static final String BLOB_MARK = "blob-";

    public Path indexFile() {
        return root.resolve("index.json");
    }

    public Path mountsDir() {
        return root.resolve("mounts");
    }

    /** A new private work directory below tmp/, named after this process so that others know when it is stale. */
    public Path newTempDir() throws IOException {
        Path tmp = root.resolve("tmp");
        while (true) {
            try {
                return Files.createDirectory(tmp.resolve(Processes.self() + "-" + uniqueSuffix()));
            } catch (FileAlreadyExistsException taken) {
                // a leftover of an earlier process that had this pid: the next suffix
            }
        }
    }

    /**
     * A suffix no other temporary name of this process has (a counter) nor, very likely, one left by an earlier
     * process of the same pid (the clock); a clash only costs another try. Not Files.createTempFile, whose
     * SecureRandom starts the JDK's security providers: a fifth of a re-import's CPU time.
     */
    private static String uniqueSuffix() {
        return Long.toHexString(System.nanoTime()) + "." + TEMP_SEQUENCE.incrementAndGet();
    }

    /** A new empty file in {@code dir} named PREFIX + a unique suffix + ".tmp". */
    private static Path newTempFile(Path dir, String prefix) throws IOException {
        while (true) {
            try {
                return Files.createFile(dir.resolve(prefix + uniqueSuffix() + ".tmp"));
            } catch (FileAlreadyExistsException taken) {
                // the next suffix
            }
        }
    }

    /** An exclusive lock on {@code locks/NAME.lock}, waiting for other processes holding it. */
    public FileLock lock(String name) throws IOException {
        FileChannel ch = FileChannel.open(root.resolve("locks").resolve(name + ".lock"),
                StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        try {
            return ch.lock();
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Releases a lock from {@link #lock} and closes its file. */
    public static void unlock(FileLock lock) {
        try (FileChannel ch = lock.channel()) {
            lock.release();
        } catch (IOException e) {
            // closing the channel releases the lock in any case
        }
    }

    /** Moves a finished blob into place; a blob already there has the same content (same digest) and is kept. */
    public void commitBlob(Path file, Digest d) throws IOException {
        moveIntoPlace(file, blob(d));
    }

    /** Moves a finished layer directory (with root/ and layer.json) into place, in one rename. */
    public void commitLayer(Path dir, Digest diffId) throws IOException {
        moveIntoPlace(dir, layerDir(diffId));
    }

    private static void moveIntoPlace(Path from, Path to) throws IOException {
        if (Files.exists(to)) {
            deleteTree(from);
            return;
        }
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
            deleteTree(from);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("the store's tmp/ and its destination are on different filesystems", e);
        }
    }

    /** Writes a small file through a temporary file beside it and a rename. */
    public static void writeAtomically(Path dirForTemp, Path target, byte[] content) throws IOException {
        Path tmp = newTempFile(dirForTemp, ".write-");
        try {
            Files.write(tmp, content);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Stores bytes as a blob (a config or manifest) and returns its digest. */
    public Digest writeBlob(byte[] content) throws IOException {
        return writeBlob(content, Digest.of(content));
    }

    /** Keeps a blob whose digest the caller has verified. */
    public Digest writeBlob(byte[] content, Digest d) throws IOException {
        if (!hasBlob(d)) {
            Path tmp = newTempFile(root.resolve("tmp"), ".blob-");
            Files.write(tmp, content);
            commitBlob(tmp, d);
        }
        return d;
    }

    /**
     * Whether the store's blob {@code d} holds exactly {@code content}: then content has digest d, since every blob
     * was checked against its digest before it was renamed into place.
     */
    public boolean holdsBlob(Digest d, byte[] content) {
        Path p = blob(d);
        try {
            // a missing blob fails the size, anything but a file the read
            return Files.size(p) == content.length && java.util.Arrays.equals(Files.readAllBytes(p), content);
        } catch (IOException e) {
            return false;
        }
    }

    /** Removes tmp/ entries whose process (the number before the dash) no longer runs. */
    private void removeStaleTemp() throws IOException {
        try (DirectoryStream<Path> s = Files.newDirectoryStream(root.resolve("tmp"))) {
            for (Path p : s) {
                String name = p.getFileName().toString();
                int dash = name.indexOf('-');
                boolean stale;
                if (name.startsWith(".write-") || name.startsWith(".blob-")) {
                    stale = Files.getLastModifiedTime(p).toMillis() < System.currentTimeMillis() - 3_600_000;
                } else {
                    stale = dash <= 0 || !processAlive(name.substring(0, dash));
                }
                if (stale) {
                    deleteTree(p);
                }
            }
        }
    }

    private static boolean processAlive(String pid) {
        try {
            return Processes.alive(Long.parseLong(pid));
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /**
     * Deletes a tree without following symlinks (a layer's symlinks point anywhere) and without crossing into
     * another filesystem: a directory mounted on inside it stops the delete with an IOException, and what is
     * mounted there is left alone. Memory stays bounded by the tree's depth, whatever the number of files.
     */
    public static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Files.walkFileTree(p, new TreeDeleter(Files.getAttribute(p, "unix:dev", LinkOption.NOFOLLOW_LINKS)));
    }

    /** Deletes what it visits, each directory after its entries; a symlink is visited, never followed. */
    private static final class TreeDeleter extends SimpleFileVisitor<Path> {
        private final Object device;

        TreeDeleter(Object device) {
            this.device = device;
        }

        @Override
        public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
            if (!device.equals(Files.getAttribute(dir, "unix:dev", LinkOption.NOFOLLOW_LINKS))) {
                throw new IOException(dir + " is a mount point: not deleted");
            }
            return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
            Files.delete(file);
            return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
            if (e != null) {
                throw e;
            }
            Files.delete(dir);
            return FileVisitResult.CONTINUE;
        }
    }
}
