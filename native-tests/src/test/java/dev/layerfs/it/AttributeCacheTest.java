package dev.layerfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What the README documents about the kernel's FUSE attribute cache: with the default timeout (1 s) the link count
 * cached for one name of a hard-linked file, and a directory's ctime after a copy-up into it, can be stale for a
 * moment; {@code -o timeout=0} removes both effects. These tests use timeout=0 and need no waiting of any kind.
 */
class AttributeCacheTest {
    @RegisterExtension
    final MountExtension ext = new MountExtension();

    @Test
    void withTimeoutZeroLinkCountsAndDirectoryTimesAreNeverStale() throws Exception {
        Layers l = ext.layers("t0", 2);
        Fixture.file(l.lower(0).resolve("a/low1"), "low1 content\n");
        Fixture.file(l.lower(0).resolve("a/low2"), "low2\n");
        Fixture.file(l.lower(1).resolve("a/d/x"), "x\n");
        LayerfsMount m = ext.mount(l, "timeout=0");

        assertEquals(1, Files.getAttribute(m.path("a/low1"), "unix:nlink"));
        Files.createLink(m.path("a/hard"), m.path("a/low1"));
        assertEquals(2, Files.getAttribute(m.path("a/low1"), "unix:nlink"), "the other name's count at once");
        assertEquals(2, Files.getAttribute(m.path("a/hard"), "unix:nlink"));
        Files.delete(m.path("a/hard"));
        assertEquals(1, Files.getAttribute(m.path("a/low1"), "unix:nlink"));

        // tar of a directory right after a copy-up into it (which changes the directory's ctime).
        Files.writeString(m.path("a/d/added"), "added\n");
        Files.delete(m.path("a/low2"));
        Xattr.set(m.path("a/low1"), "user.t", "y").assertOk();
        Path archive = ext.dir("out").resolve("a.tar");
        Sh.ok("tar", "-C", m.path("a").toString(), "-cf", archive.toString(), ".");
        String listing = Sh.ok("tar", "-tf", archive.toString()).stdout();
        assertEquals("./\n./d/\n./d/added\n./d/x\n./low1\n", String.join("\n",
                listing.lines().sorted().toList()) + "\n");
    }
}
