package dev.layerfs.it;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs a command to completion, capturing its output; a command that outlives its time limit is killed. */
public final class Sh {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    private Sh() {}

    /** What a finished command did. */
    public record Result(List<String> command, int exitCode, String stdout, String stderr) {
        /** The non-empty lines of stderr. */
        public List<String> stderrLines() {
            return stderr.lines().filter(l -> !l.isBlank()).toList();
        }

        public Result assertOk() {
            if (exitCode != 0) {
                throw new AssertionError("command failed: " + this);
            }
            return this;
        }

        @Override
        public String toString() {
            return String.join(" ", command) + " -> exit " + exitCode
                    + (stdout.isEmpty() ? "" : "\n--- stdout:\n" + stdout)
                    + (stderr.isEmpty() ? "" : "\n--- stderr:\n" + stderr);
        }
    }

    public static Result run(String... command) {
        return run(Arrays.asList(command), Map.of(), null, DEFAULT_TIMEOUT);
    }

    public static Result ok(String... command) {
        return run(command).assertOk();
    }

    /** bash -c SCRIPT in a directory. */
    public static Result bash(String script, Path dir, Map<String, String> env) {
        return run(List.of("bash", "-c", script), env, dir, DEFAULT_TIMEOUT);
    }

    public static Result run(List<String> command, Map<String, String> env, Path dir, Duration timeout) {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().putAll(env);
        if (dir != null) {
            pb.directory(dir.toFile());
        }
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + command, e);
        }
        Drain out = new Drain(p.getInputStream());
        Drain err = new Drain(p.getErrorStream());
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                // Only what this call started: the command and whatever it started itself.
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                throw new AssertionError("command did not finish within " + timeout + " (killed): " + command
                        + "\n--- stdout:\n" + out.text(1000) + "\n--- stderr:\n" + err.text(1000));
            }
            return new Result(List.copyOf(command), p.exitValue(), out.text(10_000), err.text(10_000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new AssertionError("interrupted while running " + command, e);
        }
    }

    /** Reads a stream to its end on a thread of its own, so neither pipe can fill up and block the child. */
    private static final class Drain {
        private final ByteArrayOutputStream buf = new ByteArrayOutputStream();
        private final Thread thread;

        Drain(InputStream in) {
            thread = new Thread(() -> {
                byte[] b = new byte[8192];
                try (in) {
                    int n;
                    while ((n = in.read(b)) > 0) {
                        synchronized (buf) {
                            buf.write(b, 0, n);
                        }
                    }
                } catch (IOException e) {
                    // The process ended or was killed: what was read is what there is.
                }
            }, "sh-drain");
            thread.setDaemon(true);
            thread.start();
        }

        /** Waits (bounded) for the end of the stream: a grandchild may hold the pipe open. */
        String text(long waitMillis) throws InterruptedException {
            thread.join(waitMillis);
            synchronized (buf) {
                return buf.toString(StandardCharsets.UTF_8);
            }
        }
    }
}
