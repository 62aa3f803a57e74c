package dev.layerfs.snapshotter.store;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The one file that holds every snapshot's record ({@link StoredSnapshots}). A change writes the whole new state to
 * a temporary file beside it, forces it to disk, renames it over the old one and forces the directory: a kill at
 * any point leaves either the old state or the new one. A leftover temporary file is ignored (and overwritten by
 * the next change).
 */
final class MetadataFile {
    private final Path file;
    private final Path temporary;

    MetadataFile(Path root) {
        this.file = root.resolve("metadata.pb");
        this.temporary = root.resolve("metadata.pb.new");
    }

    /** The stored state, or an empty one where there is no file yet. */
    StoredSnapshots read() throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return StoredSnapshots.parseFrom(in);
        } catch (NoSuchFileException e) {
            return StoredSnapshots.getDefaultInstance();
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IOException(file + " is damaged: " + e.getMessage(), e);
        }
    }

    /** Replaces the stored state with {@code state}, durably. */
    void write(StoredSnapshots state) throws IOException {
        try (FileChannel ch = FileChannel.open(temporary, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(state.toByteString().asReadOnlyByteBuffer());
            ch.force(true);
        }
        try {
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("cannot replace " + file + " atomically: " + e.getMessage(), e);
        }
        try (FileChannel dir = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
            dir.force(true);
        }
    }
}
