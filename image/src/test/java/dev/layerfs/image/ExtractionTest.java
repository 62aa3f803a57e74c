package dev.layerfs.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.layerfs.image.commit.LayerTarWriter;
import dev.layerfs.image.extract.LayerExtractor;
import dev.layerfs.image.extract.Posix;
import dev.layerfs.image.importer.Sizes;
import dev.layerfs.image.store.Digest;
import dev.layerfs.image.store.ImageStoreException;
import dev.layerfs.image.store.Json;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What an extracted layer keeps, and the whiteout form it is stored in. Needs root (mknod, chown, trusted.*). */
class ExtractionTest {
    /** vfs_cap_data v2 for cap_setuid (bit 7: a byte 0x80, not valid UTF-8) + effective. */
    static final byte[] CAPABILITY = {1, 0, 0, 2, (byte) 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

    @TempDir
    Path tmp;

    @BeforeEach
    void root() {
        assumeTrue("root".equals(System.getProperty("user.name")), "extraction keeps owners and devices: root only");
    }

    @Test
    void whiteoutsBecomeCharDevicesAndOpaqueDirectoriesAnXattr() throws Exception {
        StoreFixture f = new StoreFixture(tmp);
        byte[] base = Archives.layer(t -> {
            Archives.dir(t, "a/");
            Archives.file(t, "a/f", "f");
            Archives.file(t, "a/g", "g");
            Archives.dir(t, "o/");
            Archives.file(t, "o/x", "x");
        });
        byte[] top = Archives.layer(t -> {
            Archives.file(t, "a/.wh.f", "");
            Archives.dir(t, "o/");
            Archives.file(t, "o/.wh..wh..opq", "");
            Archives.file(t, "o/y", "y");
        });
        f.importArchive(Archives.dockerArchive(tmp.resolve("i.tar"), "i:1", List.of(base, top)));
        Path root = f.store.layerRoot(Digest.of(top));
        Map<String, Object> wh = Files.readAttributes(root.resolve("a/f"), "unix:mode,rdev", LinkOption.NOFOLLOW_LINKS);
        assertEquals(Posix.S_IFCHR, (Integer) wh.get("mode") & 0170000);
        assertEquals(0L, wh.get("rdev"));
        assertArrayEquals(new byte[] {'y'}, Posix.getXattr(root.resolve("o"), "trusted.overlay.opaque"));
        assertTrue(Files.exists(root.resolve("o/y")));
        assertTrue(!Files.exists(root.resolve("o/.wh..wh..opq")) && !Files.exists(root.resolve("a/.wh.f")));
        assertTrue(f.output().contains("Extracted"), f.output());
    }

    @Test
    void modesOwnersTimesLinksDevicesHolesAndBinaryXattrsAreKept() throws Exception {
        // made on disk, written by the commit writer (its own PAX header, binary-safe), read by the extractor
        Path upper = Files.createDirectory(tmp.resolve("upper"));
        Files.writeString(upper.resolve("suid"), "s");
        Posix.lchown(upper.resolve("suid"), 1234, 5678);
        Posix.chmod(upper.resolve("suid"), 04755);
        Posix.setXattr(upper.resolve("suid"), "security.capability", CAPABILITY);
        Posix.setXattr(upper.resolve("suid"), "user.note", "n\u00e9".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        Files.createLink(upper.resolve("hard"), upper.resolve("suid"));
        Files.createSymbolicLink(upper.resolve("sym"), Path.of("suid"));
        Posix.mknod(upper.resolve("fifo"), Posix.S_IFIFO, 0600, 0, 0);
        Posix.mknod(upper.resolve("null"), Posix.S_IFCHR, 0666, 1, 3);
        try (var ch = Files.newByteChannel(upper.resolve("sparse"), java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.position(8 << 20);
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {'x'}));
        }
        Posix.setTimes(upper.resolve("suid"), java.time.Instant.ofEpochSecond(1_000_000_000L));
        ByteArrayOutputStream tar = new ByteArrayOutputStream();
        LayerTarWriter.write(upper, tar);

        Path root = Files.createDirectory(tmp.resolve("root"));
        LayerExtractor.extract(new ByteArrayInputStream(tar.toByteArray()), root);
        Map<String, Object> a = Files.readAttributes(root.resolve("suid"), "unix:*", LinkOption.NOFOLLOW_LINKS);
        assertEquals(04755, (Integer) a.get("mode") & 07777);
        assertEquals(1234, a.get("uid"));
        assertEquals(5678, a.get("gid"));
        assertEquals(FileTime.fromMillis(1_000_000_000_000L), a.get("lastModifiedTime"));
        assertEquals(2, a.get("nlink"), "suid and hard are one file");
        assertArrayEquals(CAPABILITY, Posix.getXattr(root.resolve("suid"), "security.capability"));
        assertEquals("n\u00e9", new String(Posix.getXattr(root.resolve("suid"), "user.note"),
                java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(Path.of("suid"), Files.readSymbolicLink(root.resolve("sym")));
        assertEquals(Posix.S_IFIFO, (Integer) Files.getAttribute(root.resolve("fifo"), "unix:mode",
                LinkOption.NOFOLLOW_LINKS) & 0170000);
        assertEquals(0x103L, Files.getAttribute(root.resolve("null"), "unix:rdev", LinkOption.NOFOLLOW_LINKS));
        assertEquals((8 << 20) + 1, Files.size(root.resolve("sparse")));
        String blocks = new String(new ProcessBuilder("stat", "-c", "%b", root.resolve("sparse").toString())
                .start().getInputStream().readAllBytes()).strip();
        assertTrue(Long.parseLong(blocks) < 1024, "8 MiB of zeros left as a hole: " + blocks + " blocks");
    }

    @Test
    void theSameUpperLayerGivesTheSameTar() throws Exception {
        Path upper = Files.createDirectory(tmp.resolve("upper"));
        Files.createDirectories(upper.resolve("d/e"));
        Files.writeString(upper.resolve("d/e/f"), "content");
        Posix.mknod(upper.resolve("d/gone"), Posix.S_IFCHR, 0, 0, 0);
        Posix.setXattr(upper.resolve("d/e"), "trusted.overlay.opaque", new byte[] {'y'});
        ByteArrayOutputStream one = new ByteArrayOutputStream();
        LayerTarWriter.write(upper, one);
        Files.readAllBytes(upper.resolve("d/e/f"));
        Thread.sleep(1100);
        ByteArrayOutputStream two = new ByteArrayOutputStream();
        LayerTarWriter.write(upper, two);
        assertArrayEquals(one.toByteArray(), two.toByteArray());
        List<String> names = new java.util.ArrayList<>();
        try (var in = new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(
                new ByteArrayInputStream(one.toByteArray()))) {
            TarArchiveEntry e;
            while ((e = in.getNextEntry()) != null) {
                names.add(e.getName());
            }
        }
        assertEquals(List.of("d/", "d/e/", "d/e/.wh..wh..opq", "d/e/f", "d/.wh.gone"), names);
    }

    @Test
    void aWrongDiffIdIsRefusedAndNothingKept() throws Exception {
        StoreFixture f = new StoreFixture(tmp);
        byte[] layer = Archives.layer(t -> Archives.file(t, "f", "f"));
        var config = Json.object();
        config.putObject("rootfs").put("type", "layers").putArray("diff_ids")
                .add(Digest.of(new byte[] {1}).toString());
        String before = f.state();
        Path archive = Archives.dockerArchive(tmp.resolve("bad.tar"), "bad:1", List.of(layer), Json.bytes(config));
        ImageStoreException e = assertThrows(ImageStoreException.class, () -> f.importArchive(archive));
        assertTrue(e.getMessage().contains("the config's diff_id is"), e.getMessage());
        assertEquals(before, f.state());
    }

    @Test
    void aSecondImageSharingTheBaseExtractsOnlyItsOwnLayer() throws Exception {
        StoreFixture f = new StoreFixture(tmp);
        byte[] base = Archives.layer(t -> Archives.file(t, "base", "b"));
        byte[] one = Archives.layer(t -> Archives.file(t, "one", "1"));
        byte[] two = Archives.layer(t -> Archives.link(t, "two", "base", TarConstants.LF_SYMLINK));
        f.importArchive(Archives.dockerArchive(tmp.resolve("1.tar"), "x:1", List.of(base, one)));
        f.output.reset();
        f.importArchive(Archives.dockerArchive(tmp.resolve("2.tar"), "x:2", List.of(base, two)));
        assertEquals(List.of(Digest.of(base).shortHex() + ": Already exists",
                Digest.of(two).shortHex() + ": Extracted " + Sizes.human(two.length)),
                f.output().lines().filter(l -> l.contains(": ")).toList());
    }
}
