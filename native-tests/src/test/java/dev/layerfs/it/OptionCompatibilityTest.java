package dev.layerfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Option lists as fuse-overlayfs users write them. */
class OptionCompatibilityTest {
    @RegisterExtension
    final MountExtension ext = new MountExtension();

    private Layers layers(String name) {
        Layers l = ext.layers(name, 2);
        Fixture.file(l.lower(0).resolve("a"), "a\n");
        Fixture.file(l.lower(1).resolve("b"), "b\n");
        return l;
    }

    private LayerfsMount mountWith(Layers l, String options) {
        MountExtension.Launch launch = ext.launch(l.mnt(), "-o", options, l.mnt().toString());
        assertEquals(0, launch.exitCode(), launch.result()::toString);
        LayerfsMount m = launch.mount().orElseThrow();
        MountExtension.assertLive(m);
        return m;
    }

    @Test
    void emptyEntriesAndVolatile() throws Exception {
        Layers l = layers("vol");
        LayerfsMount m = mountWith(l, l.options() + ",,volatile");
        assertEquals(List.of(), m.launch().stderrLines());
        try (FileChannel ch = FileChannel.open(m.path("synced"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3}));
            ch.force(true);
        }
        assertEquals(3, Files.size(l.upper().resolve("synced")));
        assertEquals("b\n", Files.readString(m.path("b")));
    }

    /** What containers-storage passes for a deep image: about 127 lower layers and 8.8 KB of options. */
    @Test
    void manyLowerLayersInALongOptionList() throws Exception {
        Layers base = ext.layers("many", 1);
        Path dir = ext.dir("many-lowers");
        List<Path> lowers = new ArrayList<>();
        for (int i = 0; i < 127; i++) {
            Path l = Files.createDirectories(dir.resolve("%03d-%s".formatted(i, "L".repeat(40))));
            Fixture.file(l.resolve("etc/f" + i), i + "\n");
            lowers.add(l);
        }
        Fixture.file(lowers.get(0).resolve("etc/both"), "top\n");
        Fixture.file(lowers.get(126).resolve("etc/both"), "bottom\n");
        Layers l = base.withLowers(lowers);
        String options = l.options() + ",,volatile";
        assertTrue(options.length() > 8800, "options are " + options.length() + " bytes");
        LayerfsMount m = mountWith(l, options);
        try (var names = Files.list(m.path("etc"))) {
            assertEquals(128, names.count());
        }
        assertEquals("top\n", Files.readString(m.path("etc/both")));
        assertEquals("126\n", Files.readString(m.path("etc/f126")));
        Files.writeString(m.path("etc/f126"), "changed\n");
        assertEquals("changed\n", Files.readString(l.upper().resolve("etc/f126")));
        assertEquals("126\n", Files.readString(lowers.get(126).resolve("etc/f126")));
    }

    @Test
    void aLeadingDoubleCommaAndATrailingComma() throws Exception {
        Layers l = layers("trail");
        LayerfsMount m = mountWith(l, ",," + l.options() + ",");
        assertEquals(List.of(), m.launch().stderrLines());
        assertEquals("a\n", Files.readString(m.path("a")));
        Files.writeString(m.path("w"), "w");
        assertEquals("w", Files.readString(l.upper().resolve("w")));
    }

    @Test
    void anEscapedColonInALowerPath() throws Exception {
        Layers l = layers("colon");
        Path colon = Files.createDirectory(l.root().resolve("with:colon"));
        Fixture.file(colon.resolve("c"), "from the colon layer\n");
        Fixture.file(colon.resolve("b"), "b from the colon layer\n");
        Layers withColon = l.withLowers(List.of(l.lower(0), colon, l.lower(1)));
        assertTrue(withColon.lowerdirOption().contains("with\\:colon"), withColon::lowerdirOption);
        LayerfsMount m = mountWith(withColon, withColon.options());
        assertEquals("from the colon layer\n", Files.readString(m.path("c")));
        assertEquals("b from the colon layer\n", Files.readString(m.path("b")), "the layer order is kept");
        assertEquals("a\n", Files.readString(m.path("a")));
    }

    @Test
    void anUnknownOptionIsReportedAndIgnored() throws Exception {
        Layers l = layers("unknown");
        LayerfsMount m = mountWith(l, l.options() + ",frobnicate=3,rw");
        List<String> err = m.launch().stderrLines();
        assertEquals(1, err.size(), m.launch()::toString);
        assertTrue(err.get(0).contains("frobnicate"), err::toString);
        assertTrue(err.get(0).contains("warning"), err::toString);
        assertEquals("a\n", Files.readString(m.path("a")));
        assertTrue(m.daemonLog().contains("frobnicate"), "the daemon's log is readable (teardown checks it)");
    }

    @Test
    void fsnameAndTimeout() throws Exception {
        Layers l = layers("fsname");
        LayerfsMount m = mountWith(l, l.options() + ",fsname=images,timeout=0.5");
        assertEquals("images", MountInfo.at(l.mnt()).orElseThrow().source());
        assertEquals("b\n", Files.readString(m.path("b")));
    }

    @Test
    void severalDashOArguments() throws Exception {
        Layers l = layers("multi");
        MountExtension.Launch launch = ext.launch(l.mnt(), "-o", l.lowerdirOption(), "-o",
                "upperdir=" + l.upper() + ",workdir=" + l.work(), l.mnt().toString());
        assertEquals(0, launch.exitCode(), launch.result()::toString);
        LayerfsMount m = launch.mount().orElseThrow();
        Files.writeString(m.path("x"), "x");
        assertEquals("x", Files.readString(l.upper().resolve("x")));
    }

    @Test
    void relativePaths() throws Exception {
        Layers l = layers("relative");
        MountExtension.Launch launch = ext.launchIn(l.root(), l.mnt(), "-o",
                "lowerdir=l1:l2,upperdir=upper,workdir=work", "mnt");
        assertEquals(0, launch.exitCode(), launch.result()::toString);
        LayerfsMount m = launch.mount().orElseThrow();
        MountExtension.assertLive(m);
        assertEquals("a\n", Files.readString(m.path("a")));
        Files.writeString(m.path("r"), "r");
        assertEquals("r", Files.readString(l.upper().resolve("r")));
    }

    @Test
    void spacesAndEscapedCommasInPaths() throws Exception {
        Path root = ext.dir("odd names");
        Path lower = Fixture.dir(root.resolve("lower, with comma"));
        Fixture.file(lower.resolve("f"), "odd\n");
        Path upper = Fixture.dir(root.resolve("up per"));
        Path work = Fixture.dir(root.resolve("wo,rk"));
        Path mnt = Fixture.dir(root.resolve("mount point"));
        Path other = Fixture.dir(root.resolve("other"));
        Layers l = new Layers(root, List.of(lower, other), java.util.Optional.of(upper), java.util.Optional.of(work),
                mnt);
        assertTrue(l.options().contains("lower\\, with comma"), l::options);
        LayerfsMount m = mountWith(l, l.options());
        assertEquals(mnt, MountInfo.at(mnt).orElseThrow().mountPoint(), "mountinfo escapes the space");
        assertEquals("odd\n", Files.readString(m.path("f")));
        Files.writeString(m.path("g"), "g");
        assertEquals("g", Files.readString(upper.resolve("g")));
        assertTrue(Files.isDirectory(work.resolve("work")));
    }
}
