package dev.layerfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * With the default timeout the kernel keeps directory listings (layerfs asks for it in its OPENDIR replies, see
 * README "Performance"). A kept listing must never outlive a change made through the mount: each step lists the
 * directory (so the kernel keeps it), changes it one way, and lists it again, through the same mount.
 */
class DirectoryListingCacheTest {
    @RegisterExtension
    final MountExtension ext = new MountExtension();

    @Test
    void aKeptListingFollowsEveryChangeMadeThroughTheMount() throws Exception {
        Layers l = ext.layers("listing", 2);
        Fixture.file(l.lower(0).resolve("d/top"), "top\n");
        Fixture.file(l.lower(1).resolve("d/a"), "a\n");
        Fixture.file(l.lower(1).resolve("d/b"), "b\n");
        Fixture.file(l.lower(1).resolve("d/sub/x"), "x\n");
        Fixture.file(l.lower(1).resolve("elsewhere"), "e\n");
        LayerfsMount m = ext.mount(l);
        Path d = m.path("d");

        step(d, List.of("a", "b", "sub", "top"), () -> { });
        step(d, List.of("a", "b", "c", "sub", "top"), () -> Files.writeString(d.resolve("c"), "c"));
        step(d, List.of("b", "c", "sub", "top"), () -> Files.delete(d.resolve("a")));
        step(d, List.of("c", "e", "sub", "top"), () -> Files.move(d.resolve("b"), d.resolve("e")));
        step(d, List.of("c", "e", "f", "sub", "top"), () -> Files.createDirectory(d.resolve("f")));
        step(d, List.of("c", "e", "sub", "top"), () -> Files.delete(d.resolve("f")));
        step(d, List.of("c", "e", "g", "sub", "top"), () -> Files.createSymbolicLink(d.resolve("g"), Path.of("c")));
        step(d, List.of("c", "e", "g", "h", "sub", "top"), () -> Files.createLink(d.resolve("h"), d.resolve("c")));
        step(d, List.of("c", "e", "g", "h", "sub", "top"),
                () -> Files.setPosixFilePermissions(d.resolve("top"), PosixFilePermissions.fromString("rw-------")));
        step(d, List.of("c", "e", "elsewhere", "g", "h", "sub", "top"),
                () -> Files.move(m.path("elsewhere"), d.resolve("elsewhere")));
        step(d, List.of("c", "e", "elsewhere", "g", "h", "sub"), () -> Files.move(d.resolve("top"), m.path("top")));
        step(d.resolve("sub"), List.of(), () -> Files.delete(d.resolve("sub/x")));
        step(d, List.of("c", "e", "elsewhere", "g", "h"), () -> Files.delete(d.resolve("sub")));
        step(d, List.of("c", "e", "elsewhere", "g", "h", "sub"), () -> Files.createDirectory(d.resolve("sub")));
        step(d.resolve("sub"), List.of(), () -> { });
    }

    /**
     * A descriptor opened on a directory before changes to it, read after them, then changed and read again after a
     * rewind: on the kernel overlay and on layerfs (default timeout, the kernel keeping listings) alike, the first
     * read shows the directory as it is then, not as it was at open, and the read after the rewind shows the later
     * change too. Kernel transport only: through libfuse 2 a descriptor shows the directory as it was at open
     * (README "How layerfs differs").
     */
    @Test
    void aDescriptorOpenedBeforeChangesListsAsOnTheKernelOverlay() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Transports.kernel(), "libfuse 2 lists a directory at open");
        Layers base = ext.layers("opened", 2);
        Fixture.file(base.lower(0).resolve("d/top"), "top\n");
        Fixture.file(base.lower(1).resolve("d/a"), "a\n");
        Fixture.file(base.lower(1).resolve("d/b"), "b\n");
        Layers kl = base.copyTo(ext.root().resolve("kernel"));
        Layers fl = base.copyTo(ext.root().resolve("layerfs"));
        KernelOverlay kernel = ext.mountKernel(kl, "");
        LayerfsMount layerfs = ext.mount(fl);
        String script = """
                python3 - <<'EOF'
                import os
                os.listdir("d")
                fd = os.open("d", os.O_RDONLY | os.O_DIRECTORY)
                open("d/new", "w").close()
                os.unlink("d/a")
                print(sorted(os.listdir(fd)))
                os.rename("d/b", "d/c")
                print(sorted(os.listdir(fd)))
                os.close(fd)
                EOF
                """;
        String k = Sh.bash(script, kernel.mountPoint(), Map.of()).assertOk().stdout();
        assertEquals("['b', 'new', 'top']\n['c', 'new', 'top']\n", k, "on the kernel overlay");
        assertEquals(k, Sh.bash(script, layerfs.mountPoint(), Map.of()).assertOk().stdout(), "on layerfs");
    }

    interface Change {
        void run() throws IOException;
    }

    private static void step(Path dir, List<String> expected, Change change) throws IOException {
        names(dir);
        change.run();
        assertEquals(expected, names(dir), "after the change, through a listing the kernel may have kept");
        assertEquals(expected, names(dir), "listed again");
    }

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
