package dev.layerfs.fuse.kernel;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Set;

/**
 * An open /dev/fuse: the {@link FileChannel} that holds it open, and the descriptor number that mount(2), the clone
 * ioctl and the workers' read(2) and write(2) calls ({@link KernelCalls}) take. The number is found in
 * /proc/self/fd (the one descriptor on /dev/fuse that was not there before the open), so no JDK internals are
 * opened up; opens are serialised, and code that receives descriptors from other processes receives them holding
 * the same lock ({@link KernelSession#descriptorLock()}) and closes descriptors holding it too.
 *
 * <p>So while an open holds the lock, no other descriptor on /dev/fuse comes or goes, and a number that was free
 * just before the open and names /dev/fuse after it is the new one. open(2) takes the lowest free number, which
 * opening and closing /dev/null just before tells: one readlink finds the device where no other thread opened a
 * file meanwhile. Otherwise every descriptor is read as a link before and after the open (the resident daemon holds
 * some 60, mostly its jars: about 230 readlink calls).
 */
final class DevFuse implements AutoCloseable {
    private static final Path DEVICE = Path.of("/dev/fuse");
    private static final Path FDS = Path.of("/proc/self/fd");

    final FileChannel channel;
    final int fd;

    private DevFuse(FileChannel channel, int fd) {
        this.channel = channel;
        this.fd = fd;
    }

    /** Held while a descriptor on /dev/fuse is opened and told apart from the others. */
    static final Object OPENS = new Object();

    static DevFuse open() throws IOException {
        synchronized (OPENS) {
            return openAlone();
        }
    }

    private static DevFuse openAlone() throws IOException {
        int free = KernelCalls.get().lowestFreeDescriptor();
        FileChannel ch = FileChannel.open(DEVICE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        if (free >= 0 && isDevice(free)) {
            return new DevFuse(ch, free);
        }
        ch.close();
        return openComparingAll();
    }

    private static boolean isDevice(int fd) {
        try {
            return Files.readSymbolicLink(FDS.resolve(Integer.toString(fd))).equals(DEVICE);
        } catch (IOException e) {
            return false; // not open (any more)
        }
    }

    private static DevFuse openComparingAll() throws IOException {
        Set<Integer> before = fuseFds();
        FileChannel ch = FileChannel.open(DEVICE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        Set<Integer> after = fuseFds();
        after.removeAll(before);
        if (after.size() != 1) {
            ch.close();
            throw new IOException("cannot tell which descriptor is the new /dev/fuse (" + after + ")");
        }
        return new DevFuse(ch, after.iterator().next());
    }

    private static Set<Integer> fuseFds() throws IOException {
        Set<Integer> fds = new HashSet<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(FDS)) {
            for (Path p : ds) {
                try {
                    if (Files.readSymbolicLink(p).equals(DEVICE)) {
                        fds.add(Integer.parseInt(p.getFileName().toString()));
                    }
                } catch (IOException | NumberFormatException e) {
                    // closed meanwhile, or not a number: not ours
                }
            }
        }
        return fds;
    }

    /** Closed holding {@link #OPENS}: a number freed during another open would be taken for an old one. */
    @Override
    public void close() {
        synchronized (OPENS) {
            try {
                channel.close();
            } catch (IOException e) {
                // nothing more to do with it
            }
        }
    }
}
