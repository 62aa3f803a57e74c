package dev.layerfs.image.source;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarFile;

/**
 * An image archive tar (docker-archive, oci-archive) read in place: Commons Compress's TarFile indexes the
 * entries once and then reads any entry's data at its offset, so no file of the archive is copied out.
 */
final class TarSource implements ImageSource {
    private final Path file;
    private final TarFile tar;
    private final Map<String, TarArchiveEntry> entries = new HashMap<>();

    TarSource(Path file) throws IOException {
        this.file = file;
        try {
            this.tar = new TarFile(file);
        } catch (IOException | RuntimeException e) {
            throw new IOException(file + " is not a readable tar archive (" + e.getMessage() + ")", e);
        }
        for (TarArchiveEntry e : tar.getEntries()) {
            if (e.isFile()) {
                entries.put(ImageSource.normalize(e.getName()), e);
            }
        }
    }

    @Override
    public boolean exists(String name) {
        return entries.containsKey(ImageSource.normalize(name));
    }

    @Override
    public long size(String name) {
        TarArchiveEntry e = entries.get(ImageSource.normalize(name));
        return e == null ? 0 : e.getSize();
    }

    @Override
    public InputStream open(String name) throws IOException {
        TarArchiveEntry e = entries.get(ImageSource.normalize(name));
        if (e == null) {
            throw new NoSuchFileException(name + " is missing from " + file);
        }
        return new ExactLengthStream(tar.getInputStream(e), e.getSize(), name);
    }

    @Override
    public void close() throws IOException {
        tar.close();
    }
}
