package dev.layerfs.snapshotter.store;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * The snapshots' directories: {@code ROOT/snapshots/ID/fs} (the layer) and {@code ROOT/snapshots/ID/work} (the
 * work directory of a mount that writes to it). A new one is built under a temporary name and renamed into place;
 * one being removed is renamed away first. Either way a kill leaves a directory no record names, which
 * {@link #removeAllBut} (Cleanup) deletes.
 */
final class LayerDirectories {
    /** One snapshot's two directories. */
    record Layer(Path fs, Path work) {}

    private final Path snapshots;

    LayerDirectories(Path root) throws IOException {
        this.snapshots = Files.createDirectories(root.resolve("snapshots"));
        Files.setPosixFilePermissions(snapshots, PosixFilePermissions.fromString("rwx------"));
    }

    /** Whether anything (a record's directories, or a kill's leftovers) already has this number. */
    boolean taken(long id) {
        return Files.exists(snapshots.resolve(Long.toString(id)), java.nio.file.LinkOption.NOFOLLOW_LINKS);
    }

    Layer layer(long id) {
        Path dir = snapshots.resolve(Long.toString(id));
        return new Layer(dir.resolve("fs"), dir.resolve("work"));
    }

    /**
     * Creates the directories of snapshot {@code id}. The layer's root is 0755, as containerd's overlayfs
     * snapshotter makes it (an image layer's own root entry, when it has one, sets it at unpack).
     */
    Layer create(long id) throws IOException {
        Path staging = snapshots.resolve("new-" + UUID.randomUUID());
        Files.createDirectory(staging);
        Files.createDirectory(staging.resolve("fs"));
        Files.createDirectory(staging.resolve("work"));
        // Whatever the umask: the layer's root is the container's /, which other users must be able to enter.
        Files.setPosixFilePermissions(staging.resolve("fs"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.move(staging, snapshots.resolve(Long.toString(id)), StandardCopyOption.ATOMIC_MOVE);
        return layer(id);
    }

    /** Removes snapshot {@code id}'s directories (renamed away first, so a kill midway leaves no half layer). */
    void remove(long id) throws IOException {
        Path dir = snapshots.resolve(Long.toString(id));
        if (!Files.exists(dir)) {
            return;
        }
        Path doomed = snapshots.resolve("rm-" + id + "-" + UUID.randomUUID());
        Files.move(dir, doomed, StandardCopyOption.ATOMIC_MOVE);
        DirectoryTrees.delete(doomed);
    }

    /** Deletes every directory under {@code snapshots/} that is not one of {@code ids}; returns what it deleted. */
    List<Path> removeAllBut(Set<Long> ids) throws IOException {
        List<Path> removed = new ArrayList<>();
        try (DirectoryStream<Path> all = Files.newDirectoryStream(snapshots)) {
            for (Path p : all) {
                if (!ids.contains(idOf(p.getFileName().toString()))) {
                    DirectoryTrees.delete(p);
                    removed.add(p);
                }
            }
        }
        return removed;
    }

    private static long idOf(String name) {
        try {
            return Long.parseLong(name);
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
