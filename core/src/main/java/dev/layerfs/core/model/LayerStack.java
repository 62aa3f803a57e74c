package dev.layerfs.core.model;

import dev.layerfs.core.bytes.ByteString;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.Syscalls;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The layer order, and the only owner of it: the upper layer (if any) first, then the lowers top-down. It opens
 * every layer once and checks the stack as the kernel does at mount time, naming the offending path.
 */
public final class LayerStack implements Closeable {
    private final List<Layer> layers;
    private final Optional<Layer> upper;
    private final Optional<Path> workDir;
    private final int workFd;
    private final boolean singleFilesystem;

    private LayerStack(List<Layer> layers, Optional<Path> workDir, int workFd) {
        this.layers = List.copyOf(layers);
        this.upper = layers.get(0).upper() ? Optional.of(layers.get(0)) : Optional.empty();
        this.workDir = workDir;
        this.workFd = workFd;
        this.singleFilesystem = layers.stream().mapToLong(Layer::dev).distinct().count() == 1;
    }

    /**
     * What {@link #validate} found of a configuration's layers: their real paths, and for {@link #open(OverlayConfig,
     * Checks)} the lower layers' checks, so that a mount checks each lower layer once (twice cost a 60-layer mount
     * some 8 ms of CPU time).
     */
    public static final class Checks {
        private final List<Path> lowerDirs;
        private final List<Checked> checked;

        private Checks(List<Path> lowerDirs, List<Checked> checked) {
            this.lowerDirs = lowerDirs;
            this.checked = checked;
        }

        /** The real paths of the layers checked: the upper layer if any, the lowers top-down, the workdir if any. */
        public List<Path> realPaths() {
            List<Path> out = new ArrayList<>(checked.size());
            for (Checked c : checked) {
                out.add(c.path);
            }
            return out;
        }
    }

    /** Checks the configuration as {@link #open} does, opening nothing: a ConfigException names what is wrong. */
    public static Checks validate(OverlayConfig config) throws ConfigException {
        return new Checks(config.lowerDirs(), check(config, null));
    }

    /** Checks the configuration and opens the layers; nothing on disk is changed. */
    public static LayerStack open(OverlayConfig config) throws ConfigException {
        return open(config, null);
    }

    /**
     * The same, the lower layers taken as {@code earlier} (a {@link #validate} of the same lower layers, or null)
     * found them; the upper layer and the workdir, which may have been made since, are checked here, and the whole
     * stack for layers that are one another or inside one another.
     */
    public static LayerStack open(OverlayConfig config, Checks earlier) throws ConfigException {
        List<Checked> checked = check(config, earlier);
        Syscalls sys = Syscalls.get();
        List<Layer> layers = new ArrayList<>();
        int workFd = -1;
        try {
            int index = 0;
            for (Checked c : checked) {
                if (c.role == Role.WORK) {
                    workFd = openDir(sys, c.path);
                } else {
                    layers.add(new Layer(index++, c.path, openDir(sys, c.path), c.role == Role.UPPER, c.stat.dev()));
                }
            }
        } catch (FsException e) {
            layers.forEach(l -> sys.close(l.fd()));
            sys.close(workFd);
            throw new ConfigException("cannot open layer: " + e.getMessage());
        }
        return new LayerStack(layers, config.workDir().map(LayerStack::absolute), workFd);
    }

    private static int openDir(Syscalls sys, Path dir) throws FsException {
        return sys.openat(Linux.AT_FDCWD, ByteString.ofPath(dir).latin1(), Linux.O_PATH | Linux.O_DIRECTORY, 0);
    }

    private enum Role {
        UPPER("upperdir"), LOWER("lowerdir"), WORK("workdir");

        final String option;

        Role(String option) {
            this.option = option;
        }
    }

    private record Checked(Role role, Path path, Stat stat) {}

    private static List<Checked> check(OverlayConfig config, Checks earlier) throws ConfigException {
        if (config.lowerDirs().isEmpty()) {
            throw new ConfigException("no lowerdir given: at least one lower layer is needed");
        }
        if (config.upperDir().isPresent() && config.workDir().isEmpty()) {
            throw new ConfigException("upperdir " + config.upperDir().get() + " given without a workdir");
        }
        if (config.workDir().isPresent() && config.upperDir().isEmpty()) {
            throw new ConfigException("workdir " + config.workDir().get() + " given without an upperdir");
        }
        List<Checked> all = new ArrayList<>();
        if (config.upperDir().isPresent()) {
            all.add(directory(Role.UPPER, config.upperDir().get()));
        }
        if (earlier != null && earlier.lowerDirs.equals(config.lowerDirs())) {
            for (Checked c : earlier.checked) {
                if (c.role == Role.LOWER) {
                    all.add(c);
                }
            }
        } else {
            for (Path lower : config.lowerDirs()) {
                all.add(directory(Role.LOWER, lower));
            }
        }
        if (config.workDir().isPresent()) {
            Checked work = directory(Role.WORK, config.workDir().get());
            Checked up = all.get(0);
            if (work.stat.dev() != up.stat.dev()) {
                throw new ConfigException("workdir " + work.path + " is on another filesystem than upperdir " + up.path);
            }
            all.add(work);
        }
        requireApart(all);
        return all;
    }

    /**
     * No layer is another (the same device and inode) or inside another. By lookups, each layer against those
     * before it and against its own ancestors: a pairwise comparison of paths cost a 60-layer mount some 10 ms of
     * CPU time, in the interpreter, each time the stack was checked.
     */
    private static void requireApart(List<Checked> all) throws ConfigException {
        Map<List<Long>, Checked> byInode = new HashMap<>();
        Map<Path, Checked> byPath = new HashMap<>();
        for (Checked c : all) {
            Checked same = byInode.putIfAbsent(List.of(c.stat.dev(), c.stat.ino()), c);
            if (same != null) {
                throw new ConfigException(c.role.option + " " + c.path + " is the same directory as "
                        + same.role.option + " " + same.path);
            }
            byPath.put(c.path, c);
        }
        for (Checked c : all) {
            for (Path p = c.path.getParent(); p != null; p = p.getParent()) {
                Checked outer = byPath.get(p);
                if (outer != null) {
                    throw new ConfigException(c.role.option + " " + c.path + " is inside " + outer.role.option + " "
                            + outer.path);
                }
            }
        }
    }

    /**
     * A layer directory, checked as the kernel's mount does and named in a one-line error with the real cause:
     * it must exist (a symbolic link to a directory will do), be a directory, and be searchable and readable by
     * the daemon (the upper layer and the workdir writable too).
     */
    private static Checked directory(Role role, Path given) throws ConfigException {
        Path p = absolute(given);
        Syscalls sys = Syscalls.get();
        String bytes = ByteString.ofPath(p).latin1();
        Stat st;
        try {
            st = sys.stat(Linux.AT_FDCWD, bytes);
        } catch (FsException e) {
            throw new ConfigException(role.option + " " + given + " " + unusable(e.errno()));
        }
        if (!st.isDirectory()) {
            throw new ConfigException(role.option + " " + given + " is not a directory");
        }
        int wanted = Linux.R_OK | Linux.X_OK | (role == Role.LOWER ? 0 : Linux.W_OK);
        try {
            sys.accessat(Linux.AT_FDCWD, bytes, wanted);
        } catch (FsException e) {
            String reason = e.errno() == Errno.EACCES ? "permission denied to uid " + sys.geteuid()
                    : describe(e.errno());
            throw new ConfigException(role.option + " " + given + " cannot be "
                    + (role == Role.LOWER ? "read" : "written") + ": " + reason);
        }
        try {
            return new Checked(role, p.toRealPath(), st);
        } catch (IOException e) {
            throw new ConfigException(role.option + " " + given + " cannot be resolved: " + e.getMessage());
        }
    }

    /** Why a layer path cannot be used, from the errno of its stat. */
    private static String unusable(Errno errno) {
        return switch (errno) {
            case ENOENT -> "does not exist";
            case ENOTDIR -> "does not exist (a component of the path is not a directory)";
            case ENAMETOOLONG -> "is too long a name (a component over 255 bytes, or the path over 4,095)";
            case ELOOP -> "cannot be resolved: too many levels of symbolic links (a symbolic link loop?)";
            case EACCES -> "cannot be reached: permission denied on a directory above it";
            default -> "cannot be used: " + describe(errno);
        };
    }

    private static String describe(Errno errno) {
        return switch (errno) {
            case EACCES -> "permission denied";
            case EROFS -> "read-only filesystem";
            default -> errno.name();
        };
    }

    private static Path absolute(Path p) {
        return p.toAbsolutePath().normalize();
    }

    /** Every layer, the upper (if any) first, then the lowers top-down. */
    public List<Layer> layers() {
        return layers;
    }

    public Optional<Layer> upper() {
        return upper;
    }

    /** The upper layer, or EROFS for a read-only stack. */
    public Layer requireUpper(String op, String path) throws FsException {
        if (upper.isEmpty()) {
            throw FsException.of(Errno.EROFS, op, path);
        }
        return upper.get();
    }

    public boolean readOnly() {
        return upper.isEmpty();
    }

    /** The topmost read-only layer. */
    public Layer topLower() {
        return layers.get(upper.isPresent() ? 1 : 0);
    }

    public Optional<Path> workDir() {
        return workDir;
    }

    /** An O_PATH descriptor of the workdir, -1 for a read-only stack. */
    public int workFd() {
        return workFd;
    }

    /** True where every layer lies on one filesystem, so real inode numbers cannot collide. */
    public boolean singleFilesystem() {
        return singleFilesystem;
    }

    @Override
    public void close() {
        Syscalls sys = Syscalls.get();
        layers.forEach(l -> sys.close(l.fd()));
        sys.close(workFd);
    }
}
