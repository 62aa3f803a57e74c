package dev.layerfs.image.source;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** An image laid out in a directory (an OCI layout such as {@code podman save --format oci-dir} writes). */
final class DirectorySource implements ImageSource {
    private final Path dir;

    DirectorySource(Path dir) {
        this.dir = dir.toAbsolutePath().normalize();
    }

    /** The file for a name, refused when the name leads out of the directory (a hostile index.json). */
    private Path resolve(String name) throws IOException {
        Path p = dir.resolve(ImageSource.normalize(name)).normalize();
        if (!p.startsWith(dir) || !p.toRealPath().startsWith(dir.toRealPath())) {
            throw new IOException("archive name " + name + " leads outside " + dir);
        }
        return p;
    }

    @Override
    public boolean exists(String name) {
        try {
            return Files.isRegularFile(resolve(name), LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public long size(String name) {
        try {
            return Files.size(resolve(name));
        } catch (IOException e) {
            return 0;
        }
    }

    @Override
    public InputStream open(String name) throws IOException {
        Path p;
        try {
            p = resolve(name);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(name + " is missing from " + dir);
        }
        if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
            throw new NoSuchFileException(name + " is missing from " + dir);
        }
        return Files.newInputStream(p);
    }

    @Override
    public void close() {
        // nothing held open
    }
}
