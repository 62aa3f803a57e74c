package dev.layerfs.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.layerfs.core.error.FsException;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.model.Caller;
import dev.layerfs.core.model.OverlayConfig;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.readdir.DirEntry;
import dev.layerfs.core.testing.LayerTree.Opaque;
import dev.layerfs.core.testing.LowerLayersUnchanged;
import dev.layerfs.core.testing.OverlayFixture;
import dev.layerfs.core.testing.OverlayIo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Random sequences of operations (and lookups between them) on one overlay; after every step its whole merged
 * view must be what a freshly opened overlay shows over the same layers (with a workdir of its own), inode
 * numbers included. Catches state an overlay keeps about the layers going stale (lookups, listings, the numbers
 * origin records give), and operations whose result the layers cannot express.
 */
@ExtendWith(LowerLayersUnchanged.class)
class FreshViewTest {
    static final String[] NAMES = {"a", "b", "d", "e", "d/a", "d/b", "d/s", "d/s/a", "e/a", "e/d", "o", "o/a",
            "w", "w/a", "x"};

    @TempDir
    Path tmp;

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
    void everyStepMatchesAFreshOverlay(int seed) throws Exception {
        OverlayFixture fx = OverlayFixture.create(tmp);
        fx.l1().file("a", "l1 a");
        fx.l1().file("d/a", "l1 d/a");
        fx.l1().dir("d/s");
        fx.l2().file("d/b", "l2 d/b");
        fx.l2().file("d/s/a", "l2 d/s/a");
        fx.l2().file("b", "l2 b");
        fx.l1().whiteout("e");
        fx.l2().file("e/a", "hidden");
        fx.l1().opaqueDir("o", Opaque.AUFS);
        fx.l2().file("o/a", "hidden by opaque");
        fx.l2().file("o/b", "hidden by opaque");
        fx.l1().aufsWhiteout("w");
        fx.l2().file("w/a", "hidden");
        fx.l2().symlink("x", "a");
        Overlay ov = fx.open();
        Path freshWork = Files.createDirectories(tmp.resolve("fresh-work"));
        Random r = new Random(seed);
        List<String> log = new ArrayList<>();
        for (int step = 0; step < 120; step++) {
            String p = NAMES[r.nextInt(NAMES.length)];
            String q = NAMES[r.nextInt(NAMES.length)];
            String what = op(ov, r.nextInt(16), p, q, r);
            log.add(step + ": " + what);
            // The same stack opened anew (its own workdir): nothing cached, origin records read from the layers.
            OverlayConfig fresh = OverlayConfig.writable(List.of(fx.l1().root(), fx.l2().root()),
                    fx.upper().root(), freshWork);
            try (Overlay other = Overlay.open(fresh)) {
                // Deep paths first: a listing of a directory would refresh whatever is known about it.
                String expected = probe(other) + dump(other);
                String actual = probe(ov) + dump(ov);
                if (!expected.equals(actual)) {
                    assertEquals(expected, actual, "after:\n" + String.join("\n", log));
                }
            }
        }
        assertEquals(List.of(), fx.scratch().list(""));
    }

    /** Runs one operation; failures with an errno are part of the game. Returns what was done. */
    private static String op(Overlay ov, int kind, String p, String q, Random r) {
        String what;
        switch (kind) {
            case 0 -> what = "create " + p;
            case 1 -> what = "write " + p;
            case 2 -> what = "mkdir " + p;
            case 3 -> what = "unlink " + p;
            case 4 -> what = "rmdir " + p;
            case 5 -> what = "rename " + p + " " + q;
            case 6 -> what = "rename-noreplace " + p + " " + q;
            case 7 -> what = "rename-exchange " + p + " " + q;
            case 8 -> what = "chmod " + p;
            case 9 -> what = "setxattr " + p;
            case 10 -> what = "link " + p + " " + q;
            case 11 -> what = "symlink " + p;
            case 12 -> what = "truncate " + p;
            case 13 -> what = "removexattr " + p;
            default -> what = "lookups " + p + " " + q;
        }
        try {
            switch (kind) {
                case 0 -> OverlayIo.create(ov, p, "created " + p);
                case 1 -> OverlayIo.write(ov, p, "written " + r.nextInt(100));
                case 2 -> ov.mkdir(p, 0750, Caller.ROOT);
                case 3 -> ov.unlink(p);
                case 4 -> ov.rmdir(p);
                case 5 -> ov.rename(p, q, 0);
                case 6 -> ov.rename(p, q, Linux.RENAME_NOREPLACE);
                case 7 -> ov.rename(p, q, Linux.RENAME_EXCHANGE);
                case 8 -> ov.chmod(p, 0600 + r.nextInt(0100));
                case 9 -> ov.setxattr(p, "trusted.k" + r.nextInt(3), new byte[] {(byte) r.nextInt(9)}, 0);
                case 10 -> ov.link(p, q);
                case 11 -> ov.symlink("target-" + r.nextInt(5), p, Caller.ROOT);
                case 12 -> ov.truncate(p, r.nextInt(4));
                case 13 -> ov.removexattr(p, "trusted.k" + r.nextInt(3));
                default -> {
                    ov.getattr(p);
                    ov.getattr(q);
                    ov.readdir(p);
                }
            }
        } catch (FsException e) {
            return what + " -> " + e.errno();
        }
        return what;
    }

    /** getattr of every candidate name, deepest first, without listing anything. */
    static String probe(Overlay ov) {
        List<String> names = new ArrayList<>(List.of(NAMES));
        names.sort((x, y) -> Long.compare(y.chars().filter(c -> c == '/').count(),
                x.chars().filter(c -> c == '/').count()));
        StringBuilder out = new StringBuilder();
        for (String n : names) {
            try {
                Stat st = ov.getattr(n);
                out.append(n).append(' ').append(Integer.toOctalString(st.mode())).append(" ino=").append(st.ino())
                        .append(" nlink=").append(st.nlink()).append('\n');
            } catch (FsException e) {
                out.append(n).append(' ').append(e.errno()).append('\n');
            }
        }
        return out.toString();
    }

    /** Every name of the merged view with its type, mode, size, links, owner, mtime, content/target, xattrs. */
    static String dump(Overlay ov) throws FsException {
        StringBuilder out = new StringBuilder();
        dump(ov, "", out);
        return out.toString();
    }

    private static void dump(Overlay ov, String dir, StringBuilder out) throws FsException {
        List<DirEntry> entries = new ArrayList<>(ov.readdir(dir));
        entries.sort((x, y) -> x.name().compareTo(y.name()));
        for (DirEntry e : entries) {
            String p = dir.isEmpty() ? e.name().toString() : dir + "/" + e.name();
            Stat st = ov.getattr(p);
            out.append(p).append(' ').append(Integer.toOctalString(st.mode())).append(" size=")
                    .append(st.isDirectory() ? "-" : st.size()).append(" nlink=").append(st.nlink())
                    .append(" ino=").append(st.ino()).append(" dino=").append(e.ino())
                    .append(" type=").append(Integer.toOctalString(e.type()))
                    .append(" mtime=").append(st.mtime().sec()).append('.').append(st.mtime().nsec());
            List<String> x = new ArrayList<>(ov.listxattr(p));
            x.sort(null);
            for (String name : x) {
                out.append(' ').append(name).append('=')
                        .append(java.util.HexFormat.of().formatHex(ov.getxattr(p, name)));
            }
            if (st.isSymlink()) {
                out.append(" -> ").append(ov.readlink(p));
            } else if (st.isRegularFile()) {
                OpenFile f = ov.open(p, Linux.O_RDONLY);
                try {
                    out.append(" content=").append(OverlayIo.readAll(ov, f));
                } finally {
                    ov.release(f);
                }
            }
            out.append('\n');
            if (st.isDirectory()) {
                dump(ov, p, out);
            }
        }
    }
}
