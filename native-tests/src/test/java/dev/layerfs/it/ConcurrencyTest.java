package dev.layerfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Four threads, a fixed number of operations each, on one mount: creates, writes, appends, reads, renames,
 * unlinks, mkdir, rmdir and directory renames, each thread in a subtree of its own that starts with lower
 * content (so copy-ups and whiteouts happen concurrently), plus reads of shared lower files. Afterwards each
 * subtree must be exactly what its thread's bookkeeping says, through the mount and again after a remount, and
 * the only errors allowed are the expected ones (EXDEV for a directory with lower content).
 */
class ConcurrencyTest {
    @RegisterExtension
    final MountExtension ext = new MountExtension();

    private static final int THREADS = 4;
    private static final int OPERATIONS = 400;
    private static final int SHARED = 8;

    private static byte[] sharedContent(int k) {
        return ("shared file " + k + "\n").repeat(200 + k * 50).getBytes(StandardCharsets.UTF_8);
    }

    /** One thread's subtree and its bookkeeping: paths relative to the subtree root, "" being the root. */
    static final class Worker implements Runnable {
        final int id;
        final Path root;
        final Path[] shared;
        final Random random;
        final SortedMap<String, byte[]> files = new TreeMap<>();
        final Set<String> dirs = new TreeSet<>();
        /** Directories that have lower content: renaming them must give EXDEV. */
        final Set<String> lowerDirs = new HashSet<>();
        final Queue errors;
        final AtomicInteger expected = new AtomicInteger();
        int counter;

        Worker(int id, Path root, Path[] shared, Queue errors) {
            this.id = id;
            this.root = root;
            this.shared = shared;
            this.random = new Random(1000 + id);
            this.errors = errors;
        }

        Path p(String rel) {
            return rel.isEmpty() ? root : root.resolve(rel);
        }

        static String join(String dir, String name) {
            return dir.isEmpty() ? name : dir + "/" + name;
        }

        String anyDir() {
            List<String> all = new ArrayList<>(dirs);
            all.add("");
            return all.get(random.nextInt(all.size()));
        }

        String anyFile() {
            if (files.isEmpty()) {
                return null;
            }
            List<String> all = new ArrayList<>(files.keySet());
            return all.get(random.nextInt(all.size()));
        }

        byte[] data() {
            byte[] b = new byte[random.nextInt(3) == 0 ? random.nextInt(200_000) : random.nextInt(4000)];
            random.nextBytes(b);
            return b;
        }

        boolean isEmptyDir(String d) {
            String prefix = d + "/";
            return files.keySet().stream().noneMatch(f -> f.startsWith(prefix))
                    && dirs.stream().noneMatch(x -> x.startsWith(prefix));
        }

        @Override
        public void run() {
            for (int i = 0; i < OPERATIONS; i++) {
                int op = random.nextInt(11);
                String what = "op " + op;
                try {
                    what = step(op);
                } catch (Throwable t) {
                    errors.add("thread " + id + ", operation " + i + " (" + what + "): " + t);
                }
            }
        }

        private String step(int op) throws IOException {
            switch (op) {
                case 0 -> {
                    String f = join(anyDir(), "n" + id + "-" + counter++);
                    byte[] b = data();
                    Files.write(p(f), b, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                    files.put(f, b);
                    return "create " + f;
                }
                case 1 -> {
                    String f = anyFile();
                    if (f != null) {
                        byte[] b = data();
                        Files.write(p(f), b);
                        files.put(f, b);
                    }
                    return "overwrite " + f;
                }
                case 2 -> {
                    String f = anyFile();
                    if (f != null) {
                        byte[] more = ("+" + counter++).getBytes(StandardCharsets.UTF_8);
                        Files.write(p(f), more, StandardOpenOption.APPEND);
                        byte[] old = files.get(f);
                        byte[] b = Arrays.copyOf(old, old.length + more.length);
                        System.arraycopy(more, 0, b, old.length, more.length);
                        files.put(f, b);
                    }
                    return "append " + f;
                }
                case 3 -> {
                    String f = anyFile();
                    if (f != null && !Arrays.equals(files.get(f), Files.readAllBytes(p(f)))) {
                        errors.add("thread " + id + ": " + f + " does not hold what was written");
                    }
                    return "read " + f;
                }
                case 4 -> {
                    String f = anyFile();
                    if (f != null) {
                        String to = join(anyDir(), "r" + id + "-" + counter++);
                        Errnos.rename(p(f), p(to), 0);
                        files.put(to, files.remove(f));
                    }
                    return "rename file " + f;
                }
                case 5 -> {
                    String f = anyFile();
                    if (f != null) {
                        Files.delete(p(f));
                        files.remove(f);
                    }
                    return "unlink " + f;
                }
                case 6 -> {
                    String d = join(anyDir(), "d" + id + "-" + counter++);
                    Files.createDirectory(p(d));
                    dirs.add(d);
                    return "mkdir " + d;
                }
                case 7 -> {
                    List<String> empty = dirs.stream().filter(this::isEmptyDir).toList();
                    if (!empty.isEmpty()) {
                        String d = empty.get(random.nextInt(empty.size()));
                        Files.delete(p(d));
                        dirs.remove(d);
                        lowerDirs.remove(d);
                    }
                    return "rmdir";
                }
                case 8 -> {
                    if (dirs.isEmpty()) {
                        return "rename dir (none)";
                    }
                    List<String> all = new ArrayList<>(dirs);
                    String d = all.get(random.nextInt(all.size()));
                    String parent;
                    do {
                        parent = anyDir();
                    } while (parent.equals(d) || parent.startsWith(d + "/"));
                    String to = join(parent, "m" + id + "-" + counter++);
                    if (lowerDirs.contains(d)) {
                        try {
                            Errnos.rename(p(d), p(to), 0);
                            errors.add("thread " + id + ": renaming " + d + " (lower content) did not fail");
                        } catch (FsException e) {
                            if (e.errno() == Errno.EXDEV) {
                                expected.incrementAndGet();
                            } else {
                                throw e;
                            }
                        }
                    } else {
                        Errnos.rename(p(d), p(to), 0);
                        move(d, to);
                    }
                    return "rename dir " + d + " -> " + to;
                }
                case 9 -> {
                    int k = random.nextInt(shared.length);
                    if (!Arrays.equals(sharedContent(k), Files.readAllBytes(shared[k]))) {
                        errors.add("thread " + id + ": shared file " + k + " read wrong");
                    }
                    return "shared read " + k;
                }
                default -> {
                    String d = anyDir();
                    Set<String> expect = new TreeSet<>();
                    String prefix = d.isEmpty() ? "" : d + "/";
                    for (String x : files.keySet()) {
                        if (x.startsWith(prefix) && x.indexOf('/', prefix.length()) < 0) {
                            expect.add(x.substring(prefix.length()));
                        }
                    }
                    for (String x : dirs) {
                        if (x.startsWith(prefix) && x.indexOf('/', prefix.length()) < 0) {
                            expect.add(x.substring(prefix.length()));
                        }
                    }
                    Set<String> actual = new TreeSet<>();
                    try (Stream<Path> s = Files.list(p(d))) {
                        s.forEach(x -> actual.add(x.getFileName().toString()));
                    }
                    if (!expect.equals(actual)) {
                        errors.add("thread " + id + ": listing of '" + d + "' is " + actual + ", expected " + expect);
                    }
                    return "list " + d;
                }
            }
        }

        private void move(String from, String to) {
            String prefix = from + "/";
            for (String f : new ArrayList<>(files.keySet())) {
                if (f.startsWith(prefix)) {
                    files.put(to + "/" + f.substring(prefix.length()), files.remove(f));
                }
            }
            for (String d : new ArrayList<>(dirs)) {
                if (d.equals(from) || d.startsWith(prefix)) {
                    dirs.remove(d);
                    dirs.add(to + d.substring(from.length()));
                }
            }
        }
    }

    /** A thread-safe list of unexpected outcomes. */
    static final class Queue extends ConcurrentLinkedQueue<String> {
        private static final long serialVersionUID = 1L;
    }

    @Test
    void fourThreadsOfMixedOperations() throws Exception {
        Layers l = ext.layers("conc", 2);
        Path[] lowerShared = new Path[SHARED];
        for (int k = 0; k < SHARED; k++) {
            lowerShared[k] = l.lower(k % 2).resolve("shared/s" + k);
            Files.createDirectories(lowerShared[k].getParent());
            Files.write(lowerShared[k], sharedContent(k));
        }
        for (int i = 0; i < THREADS; i++) {
            Path c = l.lower(i % 2).resolve("c" + i);
            for (int f = 0; f < 5; f++) {
                Fixture.file(c.resolve("f" + f), "lower file " + f + " of " + i + "\n");
            }
            for (int g = 0; g < 3; g++) {
                Fixture.file(c.resolve("sub/g" + g), "lower sub file " + g + "\n");
            }
            Fixture.dir(c.resolve("lowerempty"));
        }
        SortedMap<String, Tree.Node> lower1 = Tree.scan(l.lower(0), n -> true);
        SortedMap<String, Tree.Node> lower2 = Tree.scan(l.lower(1), n -> true);

        LayerfsMount m = ext.mount(l);
        Path[] shared = new Path[SHARED];
        for (int k = 0; k < SHARED; k++) {
            shared[k] = m.path("shared/s" + k);
        }
        Queue errors = new Queue();
        List<Worker> workers = new ArrayList<>();
        for (int i = 0; i < THREADS; i++) {
            Worker w = new Worker(i, m.path("c" + i), shared, errors);
            for (int f = 0; f < 5; f++) {
                w.files.put("f" + f, ("lower file " + f + " of " + i + "\n").getBytes(StandardCharsets.UTF_8));
            }
            for (int g = 0; g < 3; g++) {
                w.files.put("sub/g" + g, ("lower sub file " + g + "\n").getBytes(StandardCharsets.UTF_8));
            }
            w.dirs.addAll(List.of("sub", "lowerempty"));
            w.lowerDirs.addAll(List.of("sub", "lowerempty"));
            workers.add(w);
        }
        List<Thread> threads = new ArrayList<>();
        for (Worker w : workers) {
            Thread t = new Thread(w, "worker-" + w.id);
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) {
            t.join(180_000);
            assertTrue(!t.isAlive(), t.getName() + " did not finish: the mount may hang");
        }
        assertEquals(List.of(), new ArrayList<>(errors), "unexpected errors");
        int expectedErrors = workers.stream().mapToInt(w -> w.expected.get()).sum();

        for (Worker w : workers) {
            assertMatches(w, m.path("c" + w.id), "through the mount");
        }
        m.unmount();
        try (Stream<Path> s = Files.walk(l.upper())) {
            assertEquals(List.of(), s.filter(p -> p.getFileName().toString().startsWith(".fuse_hidden")).toList());
        }
        Tree.assertSame("lower layer 1", lower1, Tree.scan(l.lower(0), n -> true), EnumSet.allOf(Tree.Field.class));
        Tree.assertSame("lower layer 2", lower2, Tree.scan(l.lower(1), n -> true), EnumSet.allOf(Tree.Field.class));

        LayerfsMount again = ext.mount(l);
        for (Worker w : workers) {
            assertMatches(w, again.path("c" + w.id), "after a remount");
        }
        for (int k = 0; k < SHARED; k++) {
            assertTrue(Arrays.equals(sharedContent(k), Files.readAllBytes(again.path("shared/s" + k))));
        }
        assertTrue(expectedErrors > 0, "the EXDEV case was exercised (the operation sequences are fixed by seeds)");
    }

    private static void assertMatches(Worker w, Path root, String when) throws IOException {
        Map<String, String> expected = new TreeMap<>();
        w.files.forEach((f, b) -> expected.put(f, "file " + b.length + " " + Arrays.hashCode(b)));
        w.dirs.forEach(d -> expected.put(d, "dir"));
        Map<String, String> actual = new TreeMap<>();
        List<Path> all;
        try (Stream<Path> s = Files.walk(root)) {
            all = s.filter(p -> !p.equals(root)).toList();
        }
        for (Path p : all) {
            String rel = root.relativize(p).toString();
            if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                actual.put(rel, "dir");
            } else {
                byte[] b = Files.readAllBytes(p);
                actual.put(rel, "file " + b.length + " " + Arrays.hashCode(b));
            }
        }
        if (!expected.equals(actual)) {
            Set<String> keys = new TreeSet<>(expected.keySet());
            keys.addAll(actual.keySet());
            List<String> diff = new ArrayList<>();
            for (String k : keys) {
                if (!String.valueOf(expected.get(k)).equals(String.valueOf(actual.get(k)))) {
                    diff.add(k + ": expected " + expected.get(k) + ", found " + actual.get(k));
                }
            }
            throw new AssertionError("thread " + w.id + "'s subtree " + when + " differs:\n"
                    + String.join("\n", Collections.unmodifiableList(diff)));
        }
    }
}
