package dev.layerfs.image.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The mount table as the kernel writes it: mount points are bytes, not always UTF-8, octal-escaped where they hold
 * a space, tab, newline or backslash. A line of any bytes (another filesystem's, or a layerfs mount's) never keeps
 * the layerfs mount points from being read.
 */
class ProcMountsTest {
    private static final Charset NAMES = Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));

    @TempDir
    Path tmp;

    @Test
    void mountPointsThatAreNotUtf8AreReadAsBytesAndNeverBreakTheLookup() throws Exception {
        byte[] latin1 = {'/', 'm', 'n', 't', '/', 'c', 'a', 'f', (byte) 0xe9};   // "café" in ISO-8859-1
        ByteArrayOutputStream table = new ByteArrayOutputStream();
        line(table, "22 1 0:21 / /proc rw - proc proc rw");
        // another filesystem mounted at a name that is not UTF-8, before the layerfs mounts
        line(table, "30 1 0:40 / ", latin1, " rw,relatime - tmpfs tmpfs rw");
        line(table, "31 1 0:41 / /mnt/with\\040space rw,nosuid - fuse.layerfs layerfs rw,user_id=0");
        line(table, "32 1 0:42 / ", latin1, "/img rw,nosuid - fuse.layerfs layerfs rw,user_id=0");
        line(table, "33 1 0:43 / /mnt/plain rw - fuse.layerfs layerfs rw,user_id=0");
        line(table, "34 1 0:44 / /mnt/other rw - fuse.other other rw");
        Path mountinfo = Files.write(tmp.resolve("mountinfo"), table.toByteArray());

        List<Path> expected = new ArrayList<>();
        expected.add(Path.of("/mnt/with space"));
        byte[] img = new byte[latin1.length + 4];
        System.arraycopy(latin1, 0, img, 0, latin1.length);
        System.arraycopy("/img".getBytes(StandardCharsets.US_ASCII), 0, img, latin1.length, 4);
        try {
            expected.add(Path.of(new String(img, NAMES)));   // what this JVM names that directory by
        } catch (InvalidPathException e) {
            // a charset that cannot encode the name again (US-ASCII): left out
        }
        expected.add(Path.of("/mnt/plain"));
        assertEquals(expected, ProcMounts.layerfsMountPoints(mountinfo));
    }

    @Test
    void inTheImageCommandsLocaleEveryByteOfAMountPointIsKept() throws Exception {
        byte[] name = {'/', 'x', (byte) 0xff, (byte) 0x80, 'y'};
        Path mountinfo = tmp.resolve("mountinfo");
        ByteArrayOutputStream table = new ByteArrayOutputStream();
        line(table, "40 1 0:50 / ", name, " rw - fuse.layerfs layerfs rw,user_id=0");
        Files.write(mountinfo, table.toByteArray());
        List<Path> found = ProcMounts.layerfsMountPoints(mountinfo);
        List<Path> expected;
        try {
            expected = List.of(Path.of(new String(name, NAMES)));
        } catch (InvalidPathException e) {
            expected = List.of();
        }
        assertEquals(expected, found);
        if (NAMES.equals(StandardCharsets.ISO_8859_1)) {
            assertEquals(new String(name, StandardCharsets.ISO_8859_1), found.get(0).toString(), "every byte kept");
        }
    }

    private static void line(ByteArrayOutputStream out, String before, byte[] name, String after) {
        out.writeBytes(before.getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(name);
        line(out, after);
    }

    private static void line(ByteArrayOutputStream out, String text) {
        out.writeBytes((text + "\n").getBytes(StandardCharsets.US_ASCII));
    }
}
