package dev.layerfs.fuse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import jnr.ffi.LibraryLoader;

/**
 * Checks made before anything is created or mounted, each failing with one line that says what to do:
 * FUSE present, the mount point usable, and no layer overlapping the mount point (a loop fuse-overlayfs hangs
 * on).
 */
final class Preflight {
    private Preflight() {}

    /** A probe for libfuse 2, loaded the way jnr-fuse loads it. */
    public interface LibFuseProbe {
        int fuse_version();
    }

    /** /dev/fuse exists and this user may open it. */
    static void requireDevFuse() throws MountException {
        Path dev = Path.of("/dev/fuse");
        if (!Files.exists(dev)) {
            throw new MountException("/dev/fuse does not exist: load the fuse kernel module (modprobe fuse)");
        }
        if (!Files.isReadable(dev) || !Files.isWritable(dev)) {
            throw new MountException("/dev/fuse is not accessible to this user");
        }
    }

    /** fusermount3 on the PATH: how the kernel transport mounts without root. */
    static void requireFusermount3() throws MountException {
        String path = System.getenv("PATH");
        for (String dir : (path == null ? "/usr/bin:/bin" : path).split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "fusermount3"))) {
                return;
            }
        }
        throw new MountException("mounting without root needs fusermount3, which is not installed: install the"
                + " package fuse3 (or mount as root)");
    }

    /** /dev/fuse, and libfuse 2 for the libfuse2 transport. */
    static void requireFuse() throws MountException {
        requireDevFuse();
        try {
            LibraryLoader.create(LibFuseProbe.class).failImmediately().load("fuse");
        } catch (LinkageError | RuntimeException e) {
            throw new MountException("libfuse 2 (libfuse.so.2) is not installed: install the package libfuse2"
                    + " (libfuse2t64 on Debian 13 and Ubuntu 24.04)");
        }
    }

    /**
     * The mount point, resolved; it must be an existing directory that no layer overlaps. {@code layers}: real
     * paths (the layer checks resolved them).
     */
    static Path mountPoint(Path given, List<Path> layers) throws MountException {
        if (!Files.exists(given, LinkOption.NOFOLLOW_LINKS) && !Files.exists(given)) {
            throw new MountException("mount point " + given + " does not exist");
        }
        if (!Files.isDirectory(given)) {
            throw new MountException("mount point " + given + " is not a directory");
        }
        Path mp;
        try {
            mp = given.toRealPath();
        } catch (IOException e) {
            throw new MountException("mount point " + given + " cannot be resolved: " + e.getMessage());
        }
        for (Path layer : layers) {
            if (mp.startsWith(layer)) {
                throw new MountException("mount point " + given + " is inside the layer " + layer);
            }
            if (layer.startsWith(mp)) {
                throw new MountException("the layer " + layer + " is inside the mount point " + given);
            }
        }
        return mp;
    }

    /** The real paths of those of {@code paths} that exist. */
    static List<Path> existing(List<Path> paths) {
        List<Path> out = new ArrayList<>();
        for (Path p : paths) {
            try {
                out.add(p.toRealPath());
            } catch (IOException e) {
                // A missing layer is reported by the layer stack's own checks, with the option's name.
            }
        }
        return out;
    }
}
