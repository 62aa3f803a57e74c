package dev.layerfs.it.fuzz;

import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.it.fuzz.Compare.Findings;
import dev.layerfs.it.fuzz.Mounts.Mount;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs sequences side by side on one kernel overlay and one layerfs mount over identical copies of the same
 * layers, each sequence in its own top-level directory {@code sN} (so one pair of mounts serves many), and
 * compares everything the issue asks for:
 * <ol>
 * <li>the merged views before any operation ("initial");</li>
 * <li>each operation's outcome, run on the kernel and then on layerfs ("op/NAME");</li>
 * <li>the merged views after the sequence ("merged");</li>
 * <li>after the unmount, the upper layers ("upper"), and that layerfs changed nothing in its lower layers
 * ("lower");</li>
 * <li>cross-mounts, against the kernel's merged view after the sequence: the kernel overlay over the upper layer,
 * lowers and workdir layerfs wrote ("cross-kernel"), and layerfs over the kernel's ("cross-layerfs").</li>
 * </ol>
 * Everything runs on the calling thread, which must be the {@link IoThread} (operations "as UID" switch its
 * fsuid). Five lower layers are always mounted: a sequence with fewer has no directory in the bottom ones.
 */
final class Batch {
    static final int LOWERS = 5;

    /** Where and how to mount. */
    record Config(Path tmpRoot, String kernelOptions, String layerfsOptions, java.util.Set<Allowed> excusing) {}

    /** What one sequence gave. {@code log}: each operation with both outcomes. */
    record SeqResult(Seq seq, Findings findings, int opsRun, boolean ran, List<String> log,
            List<String> kernelOutcomes, List<Op> resolvedOps) {}

    private final Config cfg;
    final AtomicLong heartbeat = new AtomicLong(System.nanoTime());
    private volatile boolean started;
    /** Milliseconds per phase, for -Dfuzz.verbose=true. */
    final Map<String, Long> phaseMillis = new java.util.LinkedHashMap<>();
    private long phaseStart;

    boolean started() {
        return started;
    }

    private void phase(String name) {
        long now = System.currentTimeMillis();
        if (name != null) {
            phaseMillis.merge(name, now - phaseStart, Long::sum);
        }
        phaseStart = now;
    }
    private final List<Mount> live = new ArrayList<>();
    private volatile boolean aborted;

    Batch(Config cfg) {
        this.cfg = cfg;
    }

    /** From another thread: the batch hangs; kill its layerfs daemons so that every waiting request fails. */
    void abort() {
        aborted = true;
        synchronized (live) {
            for (Mount m : live) {
                m.abort();
            }
        }
    }

    private void beat() {
        heartbeat.set(System.nanoTime());
    }

    /** One side's directories: lower1..5, upper, work, mnt, and mnt2 for the cross-mount. */
    private record Side(Path base, List<Path> lowers, Path upper, Path work, Path mnt, Path mnt2) {
        static Side create(Path base) throws IOException {
            List<Path> lowers = new ArrayList<>();
            for (int i = 1; i <= LOWERS; i++) {
                lowers.add(base.resolve("lower" + i));
            }
            Side s = new Side(base, lowers, base.resolve("upper"), base.resolve("work"), base.resolve("mnt"),
                    base.resolve("mnt2"));
            for (Path p : s.all()) {
                Files.createDirectories(p);
                Sys.C.fchmodat(Linux.AT_FDCWD, p.toString(), 0755, 0);
            }
            return s;
        }

        List<Path> all() {
            List<Path> out = new ArrayList<>(lowers);
            out.addAll(List.of(upper, work, mnt, mnt2));
            return out;
        }

        /** The layer directories of sequence i: upper first, then the lowers. */
        List<Path> roots(int i) {
            List<Path> out = new ArrayList<>();
            out.add(upper.resolve(dir(i)));
            for (Path l : lowers) {
                out.add(l.resolve(dir(i)));
            }
            return out;
        }
    }

    static String dir(int i) {
        return "s" + i;
    }

    List<SeqResult> run(List<Seq> seqs) {
        started = true;
        beat();
        IoThread.enterUmask();
        Path tmp;
        try {
            Files.createDirectories(cfg.tmpRoot());
            tmp = Files.createTempDirectory(cfg.tmpRoot(), "layerfs-fuzz-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            return run(seqs, tmp);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            synchronized (live) {
                for (Mount m : live) {
                    try {
                        m.unmount();
                    } catch (RuntimeException e) {
                        System.err.println("fuzz: " + e.getMessage());
                    }
                }
            }
            phase(null);
            Stack.deleteTree(tmp);
            phase("delete");
            IoThread.exitUmask();
        }
    }

    private Mount track(Mount m) {
        synchronized (live) {
            live.add(m);
        }
        return m;
    }

    private List<SeqResult> run(List<Seq> seqs, Path tmp) throws IOException {
        phase(null);
        Side k = Side.create(tmp.resolve("k"));
        Side l = Side.create(tmp.resolve("l"));
        int n = seqs.size();
        for (int i = 0; i < n; i++) {
            for (Side s : List.of(k, l)) {
                List<Path> roots = s.roots(i);
                seqs.get(i).stack().materialize(roots.subList(0, seqs.get(i).stack().lowers() + 1), s == l);
            }
        }
        phase("materialize");
        SortedMap<String, String> lowersBefore = lowerFingerprint(l);
        long newSince = System.currentTimeMillis() / 1000 - 5;

        List<Findings> findings = new ArrayList<>();
        List<List<String>> logs = new ArrayList<>();
        List<List<String>> kernelOutcomes = new ArrayList<>();
        List<List<Op>> resolvedOps = new ArrayList<>();
        int[] opsRun = new int[n];
        boolean[] ran = new boolean[n];
        List<SortedMap<String, Map<String, String>>> kernelFinal = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            findings.add(new Findings());
            logs.add(new ArrayList<>());
            kernelOutcomes.add(new ArrayList<>());
            resolvedOps.add(new ArrayList<>());
            kernelFinal.add(null);
        }

        phase("fingerprint");
        Mount km = track(Mounts.kernel(k.lowers, k.upper, k.work, k.mnt, cfg.kernelOptions()));
        phase("mount kernel");
        Mount lm = track(Mounts.layerfs(l.lowers, l.upper, l.work, l.mnt, cfg.layerfsOptions()));
        phase("mount layerfs");
        try {
            for (int i = 0; i < n; i++) {
                if (!lm.alive() || aborted) {
                    break;
                }
                ran[i] = true;
                Findings f = findings.get(i);
                String kd = k.mnt.resolve(dir(i)).toString();
                String ld = l.mnt.resolve(dir(i)).toString();
                phase(null);
                Compare.trees("initial", Snapshot.merged(kd, newSince), Snapshot.merged(ld, newSince), true, f);
                phase("scan initial");
                beat();
                int kr = Sys.C.openat(Linux.AT_FDCWD, kd, Linux.O_PATH | Linux.O_DIRECTORY | Linux.O_CLOEXEC, 0);
                int lr = Sys.C.openat(Linux.AT_FDCWD, ld, Linux.O_PATH | Linux.O_DIRECTORY | Linux.O_CLOEXEC, 0);
                Exec ke = new Exec(kr, newSince);
                Exec le = new Exec(lr, newSince);
                try {
                    List<Op> ops = seqs.get(i).ops();
                    for (int j = 0; j < ops.size(); j++) {
                        Op op = ops.get(j);
                        resolvedOps.get(i).add(ke.resolved(op));
                        String a;
                        String b;
                        if (Allowed.layerfsFirst(op)) {
                            b = le.run(op);
                            a = b.equals("EINVAL") ? Exec.SKIPPED : ke.run(op);
                        } else {
                            a = ke.run(op);
                            b = le.run(op);
                        }
                        logs.get(i).add(String.format("%-50s kernel: %s%s", op.text(), a,
                                a.equals(b) ? "" : "   <> layerfs: " + b));
                        Compare.outcome(j, op, a, b, f);
                        kernelOutcomes.get(i).add(a);
                        opsRun[i]++;
                        beat();
                        if (aborted) {
                            f.add("error/hang", "no progress for too long at op " + (j + 1) + " `" + op.text()
                                    + "`: the layerfs daemon was killed");
                            break;
                        }
                    }
                } finally {
                    ke.closeAll();
                    le.closeAll();
                    Sys.close(kr);
                    Sys.close(lr);
                }
                if (!lm.alive()) {
                    if (!aborted) {
                        f.add("error/daemon-died", "the layerfs daemon exited during the sequence");
                    }
                    break;
                }
                phase("operations");
                SortedMap<String, Map<String, String>> kf = Snapshot.merged(kd, newSince);
                kernelFinal.set(i, kf);
                Compare.trees("merged", kf, Snapshot.merged(ld, newSince), true, f);
                phase("scan merged");
                beat();
            }
        } finally {
            phase(null);
            km.unmount();
            phase("unmount kernel");
            lm.unmount();
            phase("unmount layerfs");
        }

        for (int i = 0; i < n; i++) {
            if (ran[i]) {
                Compare.trees("upper", Snapshot.upper(k.upper.resolve(dir(i)).toString(), newSince),
                        Snapshot.upper(l.upper.resolve(dir(i)).toString(), newSince), false, findings.get(i));
            }
        }
        phase("scan upper");
        SortedMap<String, String> lowersAfter = lowerFingerprint(l);
        if (!lowersAfter.equals(lowersBefore)) {
            for (String p : changed(lowersBefore, lowersAfter)) {
                int i = Integer.parseInt(p.split("/")[1].substring(1));
                findings.get(i).add("lower/changed", "layerfs changed a lower layer: " + p + " was "
                        + lowersBefore.get(p) + ", is " + lowersAfter.get(p));
            }
        }

        phase("fingerprint");
        if (!aborted) {
            cross(seqs, k, l, newSince, ran, kernelFinal, findings);
        }
        phase("cross-mounts");

        List<SeqResult> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            // The excuses see each operation as the path it resolved to on the kernel's side (Exec.resolved).
            Allowed.excuseAfterTheFact(Allowed.forOptions(cfg.excusing(), cfg.layerfsOptions()), resolvedOps.get(i), kernelOutcomes.get(i), findings.get(i));
            out.add(new SeqResult(seqs.get(i), findings.get(i), opsRun[i], ran[i], logs.get(i),
                    kernelOutcomes.get(i), resolvedOps.get(i)));
        }
        return out;
    }

    private void cross(List<Seq> seqs, Side k, Side l, long newSince, boolean[] ran,
            List<SortedMap<String, Map<String, String>>> kernelFinal, List<Findings> findings) {
        Mount kx = null;
        Mount lx = null;
        String kxError = null;
        String lxError = null;
        try {
            // Each side is cross-mounted over the very lowers it was written against, with its own workdir: with
            // index=on the upper root's origin record names the topmost lower root (a copy of the lowers is
            // another filesystem object: ESTALE), origin records of copied-up files name lower inodes, and the
            // index in the workdir is part of the layer stack (a fresh workdir has none). A remount with the
            // same directories is what a user does. layerfs never writes into its lowers (checked above); its
            // AUFS layers are turned into the kernel's dialect in place first (the kernel does not read AUFS
            // whiteouts), keeping every other inode.
            try {
                for (int i = 0; i < seqs.size(); i++) {
                    seqs.get(i).stack().toKernelForm(l.roots(i));
                }
                kx = track(Mounts.kernel(l.lowers, l.upper, l.work, l.mnt2, cfg.kernelOptions()));
            } catch (IllegalStateException e) {
                kxError = e.getMessage();
            }
            try {
                lx = track(Mounts.layerfs(k.lowers, k.upper, k.work, k.mnt2, cfg.layerfsOptions()));
            } catch (IllegalStateException e) {
                lxError = e.getMessage();
            }
            for (int i = 0; i < seqs.size(); i++) {
                if (!ran[i] || kernelFinal.get(i) == null) {
                    continue;
                }
                Findings f = findings.get(i);
                if (kx == null) {
                    f.add("cross-kernel/mount", "the kernel overlay cannot mount layerfs's upper layer: " + kxError);
                } else {
                    Compare.trees("cross-kernel", kernelFinal.get(i),
                            Snapshot.merged(l.mnt2.resolve(dir(i)).toString(), newSince), false, f);
                }
                if (lx == null) {
                    f.add("cross-layerfs/mount", "layerfs cannot mount the kernel's upper layer: " + lxError);
                } else {
                    Compare.trees("cross-layerfs", kernelFinal.get(i),
                            Snapshot.merged(k.mnt2.resolve(dir(i)).toString(), newSince), true, f);
                }
                beat();
            }
        } finally {
            if (kx != null) {
                kx.unmount();
            }
            if (lx != null) {
                lx.unmount();
            }
        }
    }

    private static SortedMap<String, String> lowerFingerprint(Side s) {
        SortedMap<String, String> out = new TreeMap<>();
        for (int j = 0; j < s.lowers.size(); j++) {
            String prefix = "L" + (j + 1) + "/";
            Snapshot.fingerprint(s.lowers.get(j).toString()).forEach((p, v) -> {
                if (!p.equals(".")) {
                    out.put(prefix + p, v);
                }
            });
        }
        return out;
    }

    private static List<String> changed(SortedMap<String, String> a, SortedMap<String, String> b) {
        java.util.TreeSet<String> all = new java.util.TreeSet<>(a.keySet());
        all.addAll(b.keySet());
        List<String> out = new ArrayList<>();
        for (String p : all) {
            if (!java.util.Objects.equals(a.get(p), b.get(p))) {
                out.add(p);
            }
        }
        return out;
    }
}
