package dev.layerfs.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Owns every mount and directory a test makes. Register it with {@code @RegisterExtension}: as a static field,
 * what is made in {@code @BeforeAll} lives for the whole class and what a test makes lives for that test; as an
 * instance field, everything lives for one test.
 *
 * <p>At the end of each scope, whether the test passed or not, it unmounts what it mounted ({@code umount}, then
 * {@code umount -l} if busy), waits a bounded time for each layerfs daemon it started to exit (then SIGKILLs that
 * very pid, and fails the test), and deletes its temporary directory under /tmp. It never touches a mount or a
 * process it did not start: daemons are recognised by pid and start time, found through /proc by the mount point
 * on their command line, and only mounts below its own temporary directory are considered.
 */
public final class MountExtension implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback,
        AfterEachCallback {
    private static final Path TMP = Path.of("/tmp");

    /**
     * Every mount not yet taken down, across all instances: should the test JVM be stopped before the teardown
     * runs (Ctrl-C, a surefire timeout), a shutdown hook detaches them and ends their daemons.
     */
    private static final java.util.Set<Unmountable> LIVE = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** Every scope directory not yet deleted, for the same hook. */
    private static final java.util.Set<Path> LIVE_ROOTS = java.util.concurrent.ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (Unmountable m : LIVE) {
                try {
                    List<Daemon> daemons = Daemon.forMountPoint(m.mountPoint());
                    if (MountInfo.isMounted(m.mountPoint())) {
                        Sh.run("umount", "-l", m.mountPoint().toString());
                    }
                    Unmounter.reap(daemons, "the test JVM's exit", Duration.ofSeconds(3));
                } catch (Throwable t) {
                    // Best effort at exit.
                }
            }
            for (Path root : LIVE_ROOTS) {
                try {
                    if (MountInfo.under(root).isEmpty()) {
                        // A process of its own: it finishes even if the JVM is halted before this hook does.
                        new ProcessBuilder("rm", "-rf", "--one-file-system", "--", root.toString())
                                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                    }
                } catch (Throwable t) {
                    // Best effort at exit.
                }
            }
        }, "layerfs-it-teardown"));
    }

    private final Deque<Scope> scopes = new ArrayDeque<>();
    private Duration daemonExitLimit = Unmounter.DAEMON_EXIT_LIMIT;

    /** How long a daemon may take to exit after its unmount before it is killed (and the test failed). */
    public MountExtension withDaemonExitLimit(Duration limit) {
        this.daemonExitLimit = limit;
        return this;
    }

    /** The launcher, bin/layerfs, as surefire names it. */
    public static Path launcher() {
        String p = System.getProperty("layerfs.launcher");
        if (p == null) {
            throw new IllegalStateException("system property layerfs.launcher is not set (run through Maven)");
        }
        Path launcher = Path.of(p).toAbsolutePath().normalize();
        if (!Files.isExecutable(launcher)) {
            throw new IllegalStateException("launcher " + launcher + " is not executable");
        }
        return launcher;
    }

    /**
     * The mount client, daemon/target/layerfs-client: the {@code layerfs} command `make install` installs, which
     * runs bin/layerfs for what it does not hand over to a daemon itself.
     */
    public static Path mountClient() {
        Path client = launcher().getParent().getParent().resolve("daemon/target/layerfs-client");
        if (!Files.isExecutable(client)) {
            throw new IllegalStateException("mount client " + client + " is not executable");
        }
        return client;
    }

    // ---- JUnit callbacks ----

    @Override
    public void beforeAll(ExtensionContext context) {
        scopes.push(new Scope(context.getRequiredTestClass().getSimpleName(), daemonExitLimit));
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        scopes.push(new Scope(context.getRequiredTestClass().getSimpleName() + "-"
                + context.getRequiredTestMethod().getName(), daemonExitLimit));
    }

    @Override
    public void afterEach(ExtensionContext context) {
        closeTop();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        closeTop();
    }

    private void closeTop() {
        Scope s = scopes.poll();
        if (s != null) {
            s.close();
        }
    }

    private Scope scope() {
        Scope s = scopes.peek();
        if (s == null) {
            throw new IllegalStateException("MountExtension used outside a test: register it with @RegisterExtension");
        }
        return s;
    }

    // ---- directories ----

    /** The current scope's private temporary directory (mode 0755 so that other users can traverse it). */
    public Path root() {
        return scope().root();
    }

    /** A new empty directory ROOT/name. */
    public Path dir(String name) {
        try {
            return Files.createDirectories(root().resolve(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Fresh ROOT/name/{l1..lN, upper, work, mnt}. */
    public Layers layers(String name, int lowerCount) {
        return Layers.create(root().resolve(name), lowerCount);
    }

    /** The environment every launch gets: TMPDIR inside this scope, so launcher and daemon scratch stays ours. */
    public Map<String, String> env() {
        Map<String, String> env = new HashMap<>();
        env.put("TMPDIR", scope().tmp().toString());
        return env;
    }

    /** The TMPDIR given to the launches of this scope. */
    public Path tmpDir() {
        return scope().tmp();
    }

    // ---- layerfs ----

    /** What a launch did, and the mount it left, if any (registered for teardown). */
    public record Launch(Sh.Result result, Optional<LayerfsMount> mount) {
        public int exitCode() {
            return result.exitCode();
        }

        public List<String> stderrLines() {
            return result.stderrLines();
        }
    }

    /** Mounts layerfs through bin/layerfs and checks it is live; fails the test if it is not. */
    public LayerfsMount mount(Layers layers, String... extraOptions) {
        StringBuilder opts = new StringBuilder(layers.options());
        for (String o : extraOptions) {
            opts.append(',').append(o);
        }
        List<String> cmd = List.of(launcher().toString(), "-o", opts.toString(), layers.mnt().toString());
        Launch l = adopt(layers.mnt(), layers, () -> Sh.run(cmd, env(), null, Duration.ofSeconds(60)));
        if (l.exitCode() != 0 || l.mount().isEmpty()) {
            throw new AssertionError("layerfs did not mount " + layers.mnt() + ": " + l.result());
        }
        LayerfsMount m = l.mount().get();
        assertLive(m);
        return m;
    }

    /** The mount is in mountinfo as fuse.layerfs, answers a stat, and its daemon holds /dev/fuse. */
    public static void assertLive(LayerfsMount m) {
        MountInfo.Entry e = MountInfo.at(m.mountPoint())
                .orElseThrow(() -> new AssertionError(m.mountPoint() + " is not in /proc/self/mountinfo"));
        if (!e.fsType().equals("fuse.layerfs")) {
            throw new AssertionError("the mount at " + m.mountPoint() + " has type " + e.fsType());
        }
        if (!Files.isDirectory(m.mountPoint())) {
            throw new AssertionError("the mount at " + m.mountPoint() + " does not answer a stat");
        }
        if (m.daemon().isGone() || !m.daemon().holdsDevFuse()) {
            throw new AssertionError(m.daemon() + " is not running or does not hold /dev/fuse");
        }
    }

    /** Runs bin/layerfs with these arguments; a mount that appears at mountPoint is taken over. */
    public Launch launch(Path mountPoint, String... args) {
        return launchIn(null, mountPoint, args);
    }

    /** The same, in a working directory (for relative paths). */
    public Launch launchIn(Path cwd, Path mountPoint, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(launcher().toString());
        cmd.addAll(List.of(args));
        return adopt(mountPoint, () -> Sh.run(cmd, env(), cwd, Duration.ofSeconds(60)));
    }

    /**
     * Runs something that may mount layerfs at mountPoint (the launcher, mount -t fuse.layerfs, ...). If the
     * mount is there afterwards, its new daemon is looked up and both are registered for teardown.
     */
    public Launch adopt(Path mountPoint, Supplier<Sh.Result> action) {
        return adopt(mountPoint, null, action);
    }

    private Launch adopt(Path mountPoint, Layers layers, Supplier<Sh.Result> action) {
        Path mp = mountPoint.toAbsolutePath().normalize();
        Set<Long> before = Daemon.pids(Daemon.forMountPoint(mp));
        Sh.Result r = action.get();
        Optional<MountInfo.Entry> entry = MountInfo.at(mp).filter(MountInfo.Entry::isFuse);
        if (entry.isEmpty()) {
            if (Daemon.forMountPoint(mp).stream().anyMatch(d -> !before.contains(d.pid()))) {
                // A daemon was started but has not mounted (yet): make sure the teardown finds it.
                scope().register(new Orphan(mp, daemonExitLimit));
            }
            return new Launch(r, Optional.empty());
        }
        List<Daemon> fresh = Daemon.forMountPoint(mp).stream().filter(d -> !before.contains(d.pid())).toList();
        if (fresh.size() != 1) {
            // Cannot tell which process serves it: take the mount down, and fail.
            scope().register(new Orphan(mp, daemonExitLimit));
            throw new AssertionError("a FUSE mount appeared at " + mp + " but " + fresh.size()
                    + " new layerfs daemons were found for it: " + fresh + "\n" + r);
        }
        LayerfsMount m = new LayerfsMount(mp, fresh.get(0), r, layers, daemonExitLimit);
        scope().register(m);
        return new Launch(r, Optional.of(m));
    }

    /**
     * Starts bin/layerfs with -f (the JVM stays in the foreground as this test's child), waits (bounded) for the
     * mount to appear, and registers it: at teardown it is unmounted and the process must exit by itself.
     */
    public Foreground startForeground(Path mountPoint, String... args) {
        return startForeground(List.of(), mountPoint, args);
    }

    /** The same, run through a command prefix (such as {@code setpriv --reuid=...} to mount as another user). */
    public Foreground startForeground(List<String> runAs, Path mountPoint, String... args) {
        Path mp = mountPoint.toAbsolutePath().normalize();
        List<String> cmd = new ArrayList<>(runAs);
        cmd.add(launcher().toString());
        cmd.add("-f");
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().putAll(env());
        Path log = scope().tmp().resolve("foreground-" + System.nanoTime() + ".log");
        pb.redirectErrorStream(true).redirectOutput(log.toFile());
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Foreground f = new Foreground(mp, p, log);
        scope().register(f);
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!MountInfo.at(mp).filter(MountInfo.Entry::isFuse).isPresent()) {
            if (!p.isAlive()) {
                throw new AssertionError("layerfs -f exited with " + p.exitValue() + " before mounting: " + f.log());
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("layerfs -f did not mount " + mp + " within 30 s: " + f.log());
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
        return f;
    }

    /** A layerfs running in the foreground as a child of the test. */
    public static final class Foreground implements Unmountable {
        private final Path mountPoint;
        private final Process process;
        private final Path log;

        Foreground(Path mountPoint, Process process, Path log) {
            this.mountPoint = mountPoint;
            this.process = process;
            this.log = log;
        }

        public Process process() {
            return process;
        }

        public String log() {
            try {
                return Files.exists(log) ? Files.readString(log) : "";
            } catch (IOException e) {
                return "(log unreadable: " + e + ")";
            }
        }

        @Override
        public Path mountPoint() {
            return mountPoint;
        }

        /** Waits (bounded) for the process to exit; its exit status, or -1 if it did not. */
        public int awaitExit(Duration limit) {
            try {
                return process.waitFor(limit.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
                        ? process.exitValue() : -1;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return -1;
            }
        }

        @Override
        public void unmount() {
            try {
                Unmounter.unmount(mountPoint);
            } finally {
                if (awaitExit(Unmounter.DAEMON_EXIT_LIMIT) < 0 && process.isAlive()) {
                    process.destroyForcibly();
                    awaitExit(Duration.ofSeconds(5));
                    throw new AssertionError("layerfs -f (pid " + process.pid() + ") did not exit after the"
                            + " unmount of " + mountPoint + " (killed)");
                }
            }
        }
    }

    // ---- the kernel overlay, tmpfs ----

    /** mount -t overlay on these directories. */
    public KernelOverlay mountKernel(Layers layers) {
        return mountKernel(layers, "");
    }

    /** mount -t overlay on these directories with more options ({@code redirect_dir=on,...}; "" for none). */
    public KernelOverlay mountKernel(Layers layers, String extraOptions) {
        String options = layers.options() + (extraOptions.isEmpty() ? "" : "," + extraOptions);
        Sh.Result r = Sh.run("mount", "-t", "overlay", "overlay", "-o", options, layers.mnt().toString());
        if (MountInfo.isMounted(layers.mnt())) {
            KernelOverlay k = new KernelOverlay(layers.mnt().toAbsolutePath().normalize(), layers);
            scope().register(k);
            r.assertOk();
            return k;
        }
        throw new AssertionError("the kernel overlay did not mount: " + r);
    }

    /** A small tmpfs at a directory of this scope. */
    public Unmountable mountTmpfs(Path dir) {
        Path mp = dir.toAbsolutePath().normalize();
        if (!mp.startsWith(root())) {
            throw new IllegalArgumentException(mp + " is not inside " + root());
        }
        Sh.Result r = Sh.run("mount", "-t", "tmpfs", "-o", "size=4m", "layerfs-it", mp.toString());
        Orphan m = new Orphan(mp, daemonExitLimit);
        if (MountInfo.isMounted(mp)) {
            scope().register(m);
        }
        r.assertOk();
        return m;
    }

    /** A mount this extension made without a daemon of its own to follow. */
    private static final class Orphan implements Unmountable {
        private final Path mountPoint;
        private final Duration exitLimit;

        Orphan(Path mountPoint, Duration exitLimit) {
            this.mountPoint = mountPoint;
            this.exitLimit = exitLimit;
        }

        @Override
        public void unmount() {
            List<Daemon> daemons = Daemon.forMountPoint(mountPoint);
            Unmounter.unmount(mountPoint);
            Unmounter.reap(daemons, "the unmount of " + mountPoint, exitLimit);
        }

        @Override
        public Path mountPoint() {
            return mountPoint;
        }
    }

    // ---- one scope: a temporary directory and what was mounted in it ----

    private static final class Scope {
        private final String name;
        private Path root;
        private Path tmp;
        private final List<Unmountable> mounts = new ArrayList<>();
        private final Duration exitLimit;

        Scope(String name, Duration exitLimit) {
            this.name = name.replaceAll("[^A-Za-z0-9_.-]", "_");
            this.exitLimit = exitLimit;
        }

        Path root() {
            if (root == null) {
                try {
                    root = Files.createTempDirectory(TMP, "layerfs-it-" + name + "-");
                    LIVE_ROOTS.add(root);
                    Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x"));
                    tmp = Files.createDirectory(root.resolve("tmp"));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            return root;
        }

        Path tmp() {
            root();
            return tmp;
        }

        synchronized void register(Unmountable m) {
            mounts.add(m);
            LIVE.add(m);
        }

        /** Tears everything down, going on after a failure; throws the first failure with the others attached. */
        void close() {
            List<Throwable> errors = new ArrayList<>();
            List<Unmountable> todo;
            synchronized (this) {
                todo = new ArrayList<>(mounts);
                mounts.clear();
            }
            for (int i = todo.size() - 1; i >= 0; i--) {
                try {
                    todo.get(i).unmount();
                } catch (Throwable t) {
                    errors.add(t);
                } finally {
                    LIVE.remove(todo.get(i));
                }
            }
            if (root != null) {
                // Safety net: nothing may stay mounted below our directory, no daemon serving it may survive.
                // Rounds, because killing a daemon leaves its mount behind (dead), and a daemon that had not
                // mounted yet may mount meanwhile.
                for (int round = 0; round < 3; round++) {
                    List<MountInfo.Entry> left = MountInfo.under(root);
                    List<Daemon> running = Daemon.mentioning(root);
                    if (left.isEmpty() && running.isEmpty()) {
                        break;
                    }
                    if (round == 0) {
                        errors.add(new AssertionError("left behind below " + root + ": mounts "
                                + left.stream().map(MountInfo.Entry::mountPoint).toList() + ", daemons " + running
                                + " (taken down now)"));
                    }
                    for (MountInfo.Entry e : left) {
                        try {
                            Unmounter.unmount(e.mountPoint());
                        } catch (Throwable t) {
                            errors.add(t);
                        }
                    }
                    try {
                        Unmounter.reap(running, "the end of the test", exitLimit);
                    } catch (Throwable t) {
                        errors.add(t);
                    }
                }
                try {
                    if (MountInfo.under(root).isEmpty()) {
                        deleteTree(root);
                        LIVE_ROOTS.remove(root);
                    } else {
                        errors.add(new AssertionError("not deleting " + root + ": still mounted below it"));
                    }
                } catch (Throwable t) {
                    errors.add(t);
                }
            }
            if (!errors.isEmpty()) {
                Throwable first = errors.get(0);
                errors.subList(1, errors.size()).forEach(first::addSuppressed);
                if (first instanceof RuntimeException re) {
                    throw re;
                }
                if (first instanceof Error err) {
                    throw err;
                }
                throw new AssertionError(first);
            }
        }
    }

    /**
     * Deletes a tree without following symbolic links and without ever entering another filesystem. GNU rm does
     * it (java.nio cannot reach objects deeper than PATH_MAX, which the long-path tests make); an object on another
     * filesystem is left and reported.
     */
    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Sh.Result r = Sh.run("rm", "-rf", "--one-file-system", "--", root.toString());
        if (r.exitCode() != 0) {
            throw new IOException("cannot delete " + root + ": " + r.stderr().strip());
        }
    }
}
