package dev.layerfs.daemon;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * The daemon's run directory: its control socket, pid file, lock and a record of each live mount (so that a
 * daemon started after this one died can clear what it left). Chosen as the mount client chooses it
 * ({@code daemon/src/main/c}): {@code --run-dir}, else {@code $LAYERFS_RUN_DIR}, else {@code /run/layerfs} for
 * root of the host ({@link HostRoot}) and {@code $XDG_RUNTIME_DIR/layerfs} for anyone else (root of a
 * user namespace included). Made 0700 when the daemon creates it.
 */
final class RunDir {
    static final String ENVIRONMENT = "LAYERFS_RUN_DIR";

    final Path dir;
    private FileChannel lockChannel;
    private FileLock lock;

    private RunDir(Path dir) {
        this.dir = dir;
    }

    static RunDir choose(Optional<String> given, UnaryOperator<String> env, boolean root) throws ServeException {
        if (given.isPresent()) {
            return new RunDir(Path.of(given.get()).toAbsolutePath());
        }
        String fromEnv = env.apply(ENVIRONMENT);
        if (fromEnv != null && !fromEnv.isEmpty()) {
            return new RunDir(Path.of(fromEnv).toAbsolutePath());
        }
        if (root) {
            return new RunDir(Path.of("/run/layerfs"));
        }
        String xdg = env.apply("XDG_RUNTIME_DIR");
        if (xdg == null || xdg.isEmpty()) {
            throw new ServeException("XDG_RUNTIME_DIR is not set: give the run directory with --run-dir DIR");
        }
        return new RunDir(Path.of(xdg, "layerfs"));
    }

    Path socket() {
        return dir.resolve("control.sock");
    }

    Path pidFile() {
        return dir.resolve("layerfs.pid");
    }

    /** One file per live mount, named by its number, holding its mount point. */
    Path mounts() {
        return dir.resolve("mounts");
    }

    /**
     * Creates the directory (0700) and takes its lock, held for the daemon's life; refused where another daemon
     * holds it. Then writes the pid file.
     */
    void claim(long pid) throws ServeException {
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir,
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
            Files.createDirectories(mounts());
            lockChannel = FileChannel.open(dir.resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            lock = lockChannel.tryLock();
        } catch (IOException e) {
            throw new ServeException("cannot use the run directory " + dir + ": " + e.getMessage());
        }
        if (lock == null) {
            String other = readPid().map(p -> " (pid " + p + ")").orElse("");
            throw new ServeException("another layerfs serve" + other + " already uses the run directory " + dir);
        }
        try {
            Files.writeString(pidFile(), pid + "\n", StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new ServeException("cannot write " + pidFile() + ": " + e.getMessage());
        }
    }

    private Optional<String> readPid() {
        try {
            return Optional.of(Files.readString(pidFile(), StandardCharsets.US_ASCII).trim());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Removes the socket and the pid file and lets the lock go (the mount records are the registry's). */
    void release() {
        try {
            Files.deleteIfExists(socket());
            Files.deleteIfExists(pidFile());
            if (lockChannel != null) {
                lockChannel.close();
            }
        } catch (IOException e) {
            // the next daemon replaces what is left
        }
    }
}
