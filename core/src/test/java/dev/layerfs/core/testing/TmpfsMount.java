package dev.layerfs.core.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A small tmpfs mounted on a directory for one test, to put a layer on another filesystem. Needs root; where
 * mounting fails the test is skipped (JUnit assumption). Always close it (try-with-resources) before the
 * temporary directory is deleted.
 */
public final class TmpfsMount implements AutoCloseable {
    private final Path dir;
    private boolean mounted;

    private TmpfsMount(Path dir) {
        this.dir = dir;
    }

    /** Creates {@code dir} if needed and mounts a 16 MiB tmpfs on it, or skips the test. */
    public static TmpfsMount mountOrSkip(Path dir) throws IOException, InterruptedException {
        return mountOrSkip(dir, "16m");
    }

    /** As {@link #mountOrSkip(Path)}, with a size as mount(8) takes it ("1m", "512k"). */
    public static TmpfsMount mountOrSkip(Path dir, String size) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        TmpfsMount m = new TmpfsMount(dir);
        String out = run("mount", "-t", "tmpfs", "-o", "size=" + size + ",mode=0755", "layerfs-test",
                dir.toString());
        Assumptions.assumeTrue(out == null, () -> "cannot mount a tmpfs on " + dir + ": " + out);
        m.mounted = true;
        return m;
    }

    public Path dir() {
        return dir;
    }

    /** Unmounts (lazily if the plain umount fails); idempotent. */
    @Override
    public void close() throws IOException {
        if (!mounted) {
            return;
        }
        try {
            String out = run("umount", dir.toString());
            if (out != null) {
                out = run("umount", "-l", dir.toString());
            }
            if (out != null) {
                throw new IOException("cannot unmount " + dir + ": " + out);
            }
            mounted = false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while unmounting " + dir, e);
        }
    }

    /** Runs a command; null on success, else its output. */
    private static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return String.join(" ", cmd) + ": timed out";
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        return p.exitValue() == 0 ? null : String.join(" ", cmd) + ": " + out;
    }
}
