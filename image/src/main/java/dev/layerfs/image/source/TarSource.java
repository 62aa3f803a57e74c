package dev.layerfs.image.source;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.StandardOpenOption;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarFile;

/**
 * An image archive tar (docker-archive, oci-archive) read in place: Commons Compress's TarFile indexes the
 * entries once; an entry's data is then read at its offset with positional reads ({@link RegionStream}), so no
 * file of the archive is copied out and several layers of one archive can be read at once. A sparse entry (whose
 * data is not one region of the file) is refused.
 */
final class TarSource implements ImageSource {
    private final Path file;
    private final FileChannel channel;
    private final Map<String, TarArchiveEntry> entries = new HashMap<>();

    TarSource(Path file) throws IOException {
        this.file = file;
        try (TarFile tar = new TarFile(file)) {
            for (TarArchiveEntry e : tar.getEntries()) {
                if (e.isFile()) {
                    entries.put(ImageSource.normalize(e.getName()), e);
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new IOException(file + " is not a readable tar archive (" + e.getMessage() + ")", e);
        }
        this.channel = FileChannel.open(file, StandardOpenOption.READ);
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
        if (e.isSparse()) {
            throw new IOException(name + " is a sparse entry of " + file + ": an image archive's files are plain");
        }
        return new ExactLengthStream(new RegionStream(channel, e.getDataOffset(), e.getSize()), e.getSize(), name);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
