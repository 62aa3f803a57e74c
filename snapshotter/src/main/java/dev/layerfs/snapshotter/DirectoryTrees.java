package dev.layerfs.snapshotter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Removing a directory tree this process made itself (a failed start's directories, the training's scratch). */
final class DirectoryTrees {
    private DirectoryTrees() {}

    static void delete(Path top) throws IOException {
        if (!Files.exists(top, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> all = Files.walk(top)) {
            for (Path p : (Iterable<Path>) all.sorted(Comparator.reverseOrder())::iterator) {
                Files.delete(p);
            }
        }
    }

    static void deleteQuietly(Path top) {
        try {
            delete(top);
        } catch (IOException e) {
            // left behind: the error being reported is the start's
        }
    }
}
