package dev.layerfs.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * A layerfs daemon process, identified by its pid AND its start time (so a recycled pid is never mistaken for it),
 * found by reading /proc: the JVM started by bin/layerfs runs {@code java ... -jar .../layerfs.jar ... MOUNTPOINT}.
 */
public final class Daemon {
    private final long pid;
    private final long startTicks;
    private final List<String> cmdline;

    private Daemon(long pid, long startTicks, List<String> cmdline) {
        this.pid = pid;
        this.startTicks = startTicks;
        this.cmdline = cmdline;
    }

    public long pid() {
        return pid;
    }

    public List<String> cmdline() {
        return cmdline;
    }

    /** Every live (not zombie) layerfs daemon whose command line satisfies a test. */
    public static List<Daemon> find(Predicate<List<String>> cmdlineTest) {
        List<Daemon> out = new ArrayList<>();
        try (DirectoryStream<Path> proc = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path dir : proc) {
                long pid;
                try {
                    pid = Long.parseLong(dir.getFileName().toString());
                } catch (NumberFormatException e) {
                    continue;
                }
                List<String> args = cmdline(pid);
                if (args == null || !isLayerfsDaemon(args) || !cmdlineTest.test(args)) {
                    continue;
                }
                String[] stat = stat(pid);
                if (stat == null || stat[0].equals("Z")) {
                    continue;
                }
                out.add(new Daemon(pid, Long.parseLong(stat[19]), args));
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out;
    }

    /**
     * Every live layerfs daemon serving (or about to serve) a mount point: one with an argument naming it, as an
     * absolute path or relative to the daemon's working directory.
     */
    public static List<Daemon> forMountPoint(Path mountPoint) {
        Path mp = mountPoint.toAbsolutePath().normalize();
        List<Daemon> out = new ArrayList<>();
        for (Daemon d : find(args -> true)) {
            Path cwd = d.cwd();
            for (String a : d.cmdline) {
                if (a.isEmpty() || a.startsWith("-")) {
                    continue;
                }
                Path p;
                try {
                    p = Path.of(a);
                } catch (java.nio.file.InvalidPathException e) {
                    continue;
                }
                if (!p.isAbsolute()) {
                    if (cwd == null) {
                        continue;
                    }
                    p = cwd.resolve(p);
                }
                if (p.normalize().equals(mp)) {
                    out.add(d);
                    break;
                }
            }
        }
        return out;
    }

    /** The process's working directory, or null once it is gone. */
    private Path cwd() {
        try {
            return Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "cwd"));
        } catch (IOException e) {
            return null;
        }
    }

    /** Every live layerfs daemon with an argument mentioning a path under a directory, or working in it. */
    public static List<Daemon> mentioning(Path root) {
        Path abs = root.toAbsolutePath().normalize();
        String r = abs.toString();
        List<Daemon> out = new ArrayList<>();
        for (Daemon d : find(args -> true)) {
            Path cwd = d.cwd();
            if (d.cmdline.stream().anyMatch(a -> a.contains(r)) || (cwd != null && cwd.startsWith(abs))) {
                out.add(d);
            }
        }
        return out;
    }

    private static boolean isLayerfsDaemon(List<String> args) {
        for (int i = 0; i + 1 < args.size(); i++) {
            if (args.get(i).equals("-jar") && args.get(i + 1).endsWith("/layerfs.jar")) {
                return true;
            }
        }
        return false;
    }

    private static List<String> cmdline(long pid) {
        try {
            byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
            if (raw.length == 0) {
                return null;
            }
            String s = new String(raw, StandardCharsets.UTF_8);
            if (s.endsWith("\0")) {
                s = s.substring(0, s.length() - 1);
            }
            return Arrays.asList(s.split("\0", -1));
        } catch (IOException e) {
            return null;
        }
    }

    /** The fields of /proc/PID/stat after the command name: [0] = state, [19] = start time in clock ticks. */
    private static String[] stat(long pid) {
        try {
            String s = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return s.substring(s.lastIndexOf(')') + 2).trim().split(" ");
        } catch (IOException | StringIndexOutOfBoundsException e) {
            return null;
        }
    }

    /** True once this process no longer runs: gone, a zombie, or its pid now belongs to another process. */
    public boolean isGone() {
        String[] stat = stat(pid);
        return stat == null || stat[0].equals("Z") || Long.parseLong(stat[19]) != startTicks;
    }

    /** Waits (bounded) for the process to end; true if it did. */
    public boolean awaitExit(Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!isGone()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    /** SIGKILL to this very process (never to a pid that has been reused), then waits a little for it to go. */
    public void kill() {
        if (!isGone()) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            awaitExit(Duration.ofSeconds(5));
        }
    }

    /** True if the process holds an open /dev/fuse descriptor. */
    public boolean holdsDevFuse() {
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "fd"))) {
            for (Path fd : fds) {
                try {
                    if (Files.readSymbolicLink(fd).toString().equals("/dev/fuse")) {
                        return true;
                    }
                } catch (IOException e) {
                    // closed meanwhile
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    /** The pids of a list, for "which of these are new" checks. */
    public static Set<Long> pids(List<Daemon> daemons) {
        return Set.copyOf(daemons.stream().map(Daemon::pid).toList());
    }

    @Override
    public String toString() {
        return "layerfs daemon pid " + pid;
    }
}
