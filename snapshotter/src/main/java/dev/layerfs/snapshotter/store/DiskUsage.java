package dev.layerfs.snapshotter.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The space a layer directory takes, counted as containerd counts it (continuity's {@code fs.DiskUsage}): every
 * object under the directory and the directory itself, each inode once however many names it has, its size the
 * blocks allocated to it (512 bytes each).
 *
 * <p>Names go back to bytes in the charset the JVM read them with ({@code sun.jnu.encoding}): under the
 * ISO-8859-1 locale that bin/layerfs gives the snapshotter, every byte of a name that is not UTF-8 survives.
 */
public record DiskUsage(long size, long inodes) {
    static final DiskUsage NONE = new DiskUsage(0, 0);
    private static final Charset NAMES = Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));

    /** An object counted once however many names it has. */
    private record Inode(long device, long number) {}

    static DiskUsage of(Path dir) throws IOException {
        Set<Inode> seen = new HashSet<>();
        long size = 0;
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                NativeStat.Blocks b = NativeStat.of(p.toString().getBytes(NAMES));
                if (seen.add(new Inode(b.device(), b.inode()))) {
                    size += b.blocks512() * 512;
                }
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        return new DiskUsage(size, seen.size());
    }
}
