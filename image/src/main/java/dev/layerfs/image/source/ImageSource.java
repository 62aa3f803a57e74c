package dev.layerfs.image.source;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** The files of an image archive, a directory or a tar, by their relative names ("./" prefixes ignored). */
public interface ImageSource extends Closeable {
    boolean exists(String name);

    /** Opens a file of the archive; a missing one is an IOException naming it. */
    InputStream open(String name) throws IOException;

    /** The size of a file of the archive (0 when it is missing). */
    long size(String name);

    /** A directory as it is, anything else as a tar (read in place, without unpacking). */
    static ImageSource open(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            return new DirectorySource(path);
        }
        return new TarSource(path);
    }

    /** Reads a small file (a manifest or config) whole, refusing one larger than {@code limit}. */
    default byte[] readSmall(String name, int limit) throws IOException {
        try (InputStream in = open(name)) {
            byte[] b = in.readNBytes(limit + 1);
            if (b.length > limit) {
                throw new IOException(name + " is larger than " + limit + " bytes");
            }
            return b;
        }
    }

    static String normalize(String name) {
        String n = name;
        while (n.startsWith("./")) {
            n = n.substring(2);
        }
        while (n.startsWith("/")) {
            n = n.substring(1);
        }
        return n;
    }
}
