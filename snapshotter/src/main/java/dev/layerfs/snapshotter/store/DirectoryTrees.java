package dev.layerfs.snapshotter.store;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/** Deleting directory trees: snapshots, a failed start's directories, the training's scratch. */
public final class DirectoryTrees {
    private DirectoryTrees() {}

    /**
     * Deletes a tree (if there is one) without following symbolic links and without crossing into another
     * filesystem: a mount point inside it stops the delete with an IOException.
     */
    public static void delete(Path top) throws IOException {
        if (!Files.exists(top, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Object topDevice = Files.getAttribute(top, "unix:dev", LinkOption.NOFOLLOW_LINKS);
        Files.walkFileTree(top, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                if (!topDevice.equals(Files.getAttribute(dir, "unix:dev", LinkOption.NOFOLLOW_LINKS))) {
                    throw new IOException(dir + " is a mount point: not removed");
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
        });
    }

    /** {@link #delete}, leaving behind what cannot be deleted (the error being reported is another one). */
    public static void deleteQuietly(Path top) {
        try {
            delete(top);
        } catch (IOException e) {
            // left behind
        }
    }
}
