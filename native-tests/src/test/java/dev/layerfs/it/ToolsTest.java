package dev.layerfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Ordinary tools through one shared layerfs mount: cp -a, mv, rm -rf, ln, mkfifo, tar, setfattr/getfattr,
 * chmod, and an unprivileged user's access (setpriv to uid/gid 65534) under default_permissions.
 */
class ToolsTest {
    @RegisterExtension
    static final MountExtension EXT = new MountExtension();

    private static final int AREAS = 16;
    private static final AtomicInteger NEXT = new AtomicInteger();
    private static final Set<Tree.Field> WITH_TIMES = withTimes();
    private static Layers layers;
    private static LayerfsMount mount;
    private static SortedMap<String, Tree.Node> lower1;
    private static SortedMap<String, Tree.Node> lower2;

    record Area(String name, Path m, Path up, Path l1, Path l2, Path host) {
        String m(String rel) {
            return m.resolve(rel).toString();
        }
    }

    private static Set<Tree.Field> withTimes() {
        EnumSet<Tree.Field> f = EnumSet.copyOf(Tree.STRUCTURE);
        f.add(Tree.Field.MTIME);
        return f;
    }

    @BeforeAll
    static void mountOnce() {
        layers = EXT.layers("tools", 2);
        for (int i = 0; i < AREAS; i++) {
            MountBehaviourTest.populate(layers.lower(0).resolve("a" + i), layers.lower(1).resolve("a" + i));
            Fixture.file(layers.lower(0).resolve("a" + i + "/world"), "world\n", "rw-rw-rw-");
            Fixture.file(layers.lower(1).resolve("a" + i + "/open/inside"), "inside\n");
            Fixture.dir(layers.lower(1).resolve("a" + i + "/open"), "rwxrwxrwx");
        }
        Fixture.ageAll(layers.lower(0));
        Fixture.ageAll(layers.lower(1));
        lower1 = Tree.scan(layers.lower(0), n -> true);
        lower2 = Tree.scan(layers.lower(1), n -> true);
        mount = EXT.mount(layers);
    }

    @AfterEach
    void lowersUnchanged() {
        EnumSet<Tree.Field> all = EnumSet.allOf(Tree.Field.class);
        Tree.assertSame("lower layer 1", lower1, Tree.scan(layers.lower(0), n -> true), all);
        Tree.assertSame("lower layer 2", lower2, Tree.scan(layers.lower(1), n -> true), all);
        MountExtension.assertLive(mount);
    }

    Area area() {
        int i = NEXT.getAndIncrement();
        if (i >= AREAS) {
            throw new IllegalStateException("raise AREAS");
        }
        String name = "a" + i;
        return new Area(name, mount.path(name), layers.upper().resolve(name), layers.lower(0).resolve(name),
                layers.lower(1).resolve(name), EXT.dir("host-" + name));
    }

    private static List<String> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** A tree on the host filesystem with some of everything cp -a and tar carry. */
    private static Path hostTree(Path dir) {
        Sh.bash("""
                set -e
                mkdir -p src/sub/deeper src/locked
                printf 'plain\\n' > src/plain
                head -c 300000 /dev/urandom > src/sub/random
                printf 'exec\\n' > src/sub/tool; chmod 0755 src/sub/tool
                printf 'private\\n' > src/locked/p; chmod 0600 src/locked/p; chmod 0700 src/locked
                printf 'owned\\n' > src/sub/owned; chown 1234:5678 src/sub/owned
                ln src/plain src/plain-hardlink
                ln -s sub/tool src/tool-link
                ln -s /nowhere src/dangling
                mkfifo src/sub/pipe
                setfattr -n user.note -v hello src/plain
                setfattr -n user.dirnote -v d src/sub
                find src -exec touch -h -d @1111111111.5 {} +
                """, dir, Map.of()).assertOk();
        return dir.resolve("src");
    }

    @Test
    void cpDashAIntoAndOutOfTheMount() throws Exception {
        Area a = area();
        Path src = hostTree(a.host);
        Sh.ok("cp", "-a", src.toString(), a.m("in"));
        SortedMap<String, Tree.Node> expected = Tree.scan(src, Tree.USER_XATTRS);
        Tree.assertSame("the host tree and its cp -a copy in the mount", expected,
                Tree.scan(a.m.resolve("in"), Tree.USER_XATTRS), WITH_TIMES);
        assertEquals(Files.getAttribute(a.up.resolve("in/plain"), "unix:ino"),
                Files.getAttribute(a.up.resolve("in/plain-hardlink"), "unix:ino"), "cp -a keeps the hard link");

        Path out = a.host.resolve("out");
        Sh.ok("cp", "-a", a.m("in"), out.toString());
        Tree.assertSame("the host tree and the copy of its copy", expected, Tree.scan(out, Tree.USER_XATTRS),
                WITH_TIMES);

        Path lowerOut = a.host.resolve("lower-out");
        Sh.ok("cp", "-a", a.m("tree"), lowerOut.toString());
        Tree.assertSame("a lower tree copied out of the mount", Tree.scan(a.l1.resolve("tree"), Tree.USER_XATTRS),
                Tree.scan(lowerOut, Tree.USER_XATTRS), WITH_TIMES);
        Path mergedOut = a.host.resolve("merged-out");
        Sh.ok("cp", "-a", a.m.toString(), mergedOut.toString());
        Tree.assertSame("the merged area copied out", Tree.scan(a.m, Tree.USER_XATTRS),
                Tree.scan(mergedOut, Tree.USER_XATTRS), Tree.STRUCTURE);
    }

    @Test
    void mvWithinIntoAndOutOfTheMount() throws Exception {
        Area a = area();
        Sh.ok("mv", a.m("low1"), a.m("low1-moved"));
        assertEquals("low1 content\n", Files.readString(a.m.resolve("low1-moved")));
        assertTrue(Errnos.isWhiteout(a.up.resolve("low1")));

        // A directory with lower content cannot be renamed (EXDEV): mv copies it and removes the original.
        Sh.ok("mv", a.m("d"), a.m("d-moved"));
        assertEquals(List.of("w", "x", "y"), list(a.m.resolve("d-moved")));
        assertEquals("x2\n", Files.readString(a.m.resolve("d-moved/x")));
        assertFalse(Files.exists(a.m.resolve("d")));
        assertTrue(Errnos.isWhiteout(a.up.resolve("d")));

        Path hostFile = Fixture.file(a.host.resolve("from-host"), "from the host\n");
        Sh.ok("mv", hostFile.toString(), a.m("only2/"));
        assertEquals("from the host\n", Files.readString(a.m.resolve("only2/from-host")));
        assertFalse(Files.exists(hostFile));

        Sh.ok("mv", a.m("exec"), a.host.toString());
        assertEquals("#!/bin/sh\necho hi\n", Files.readString(a.host.resolve("exec")));
        assertTrue(Files.isExecutable(a.host.resolve("exec")));
        assertFalse(Files.exists(a.m.resolve("exec")));
        assertTrue(Errnos.isWhiteout(a.up.resolve("exec")));

        Sh.ok("mkdir", a.m("newdir"));
        Sh.ok("touch", a.m("newdir/f"));
        Sh.ok("mv", a.m("newdir"), a.m("only2/"));
        assertEquals(List.of("f"), list(a.m.resolve("only2/newdir")));
        Sh.Result overDir = Sh.run("mv", "-T", a.m("low2"), a.m("only2"));
        assertNotEquals(0, overDir.exitCode(), overDir::toString);
    }

    @Test
    void rmDashRfOfATreeMixingLowerAndUpperContent() throws Exception {
        Area a = area();
        Files.writeString(a.m.resolve("tree/a/f"), "copied up");
        Files.writeString(a.m.resolve("tree/a/b/new"), "upper only");
        Files.createDirectories(a.m.resolve("tree/a/newdir/deeper"));
        Sh.ok("ln", "-s", "../f", a.m("tree/a/b/link"));
        assertTrue(Files.isDirectory(a.up.resolve("tree/a/b")));
        Sh.ok("rm", "-rf", a.m("tree"));
        assertFalse(Files.exists(a.m.resolve("tree"), LinkOption.NOFOLLOW_LINKS));
        assertFalse(list(a.m).contains("tree"));
        assertTrue(Errnos.isWhiteout(a.up.resolve("tree")), "the upper holds just a whiteout");
        Sh.ok("rm", "-rf", a.m("d"), a.m("only2"), a.m("empty"));
        assertEquals(List.of("attr", "exec", "low1", "low2", "open", "owned", "secret", "shared", "sym", "world"),
                list(a.m));
        Sh.ok("mkdir", "-p", a.m("tree/a"));
        assertEquals(List.of(), list(a.m.resolve("tree/a")), "a recreated tree starts empty");
    }

    @Test
    void lnAndMkfifo() throws Exception {
        Area a = area();
        Sh.ok("ln", a.m("low2"), a.m("hard"));
        assertEquals("low2 content\n", Files.readString(a.m.resolve("hard")));
        assertEquals(Files.getAttribute(a.up.resolve("low2"), "unix:ino"),
                Files.getAttribute(a.up.resolve("hard"), "unix:ino"));
        Sh.ok("ln", "-s", "low2", a.m("soft"));
        assertEquals(Path.of("low2"), Files.readSymbolicLink(a.m.resolve("soft")));
        Sh.ok("ln", "-sf", "low1", a.m("soft"));
        assertEquals(Path.of("low1"), Files.readSymbolicLink(a.m.resolve("soft")));
        Sh.ok("ln", "-sfn", "d", a.m("sym"));
        assertEquals(Path.of("d"), Files.readSymbolicLink(a.m.resolve("sym")), "a lower symlink replaced");
        assertEquals(List.of("w", "x", "y"), list(a.m.resolve("sym")));
        Sh.Result dirLink = Sh.run("ln", a.m("d"), a.m("dirlink"));
        assertTrue(dirLink.stderr().contains("hard link not allowed for directory"), dirLink::toString);

        Sh.ok("mkfifo", "-m", "600", a.m("pipe"));
        Sh.ok("test", "-p", a.m("pipe"));
        assertEquals("prw-------", Sh.ok("stat", "-c", "%A", a.m("pipe")).stdout().trim());
        Sh.ok("test", "-p", a.up.resolve("pipe").toString());
    }

    @Test
    void tarOutOfTheMountAndIntoIt() throws Exception {
        Area a = area();
        // This order ends with an unlink in the area, which makes the kernel drop the area's cached attributes:
        // a copy-up last would change the area's ctime behind the kernel's attribute cache, and tar would say
        // "file changed as we read it" (documented; see AttributeCacheTest).
        Xattr.set(a.m.resolve("low1"), "user.tarred", "yes").assertOk();
        Files.writeString(a.m.resolve("d/added"), "added\n");
        Files.delete(a.m.resolve("low2"));
        Path archive = a.host.resolve("area.tar");
        Sh.ok("tar", "--xattrs", "--xattrs-include=user.*", "-C", a.m.toString(), "-cf", archive.toString(), ".");
        Path out = Files.createDirectory(a.host.resolve("out"));
        Sh.ok("tar", "--xattrs", "--xattrs-include=user.*", "-C", out.toString(), "-xf", archive.toString());
        SortedMap<String, Tree.Node> merged = Tree.scan(a.m, Tree.USER_XATTRS);
        Tree.assertSame("the merged area and its tar copy", merged, Tree.scan(out, Tree.USER_XATTRS),
                WITH_TIMES);

        Path in = Files.createDirectory(a.m.resolve("untarred"));
        Sh.ok("tar", "--xattrs", "--xattrs-include=user.*", "-C", in.toString(), "-xf", archive.toString());
        SortedMap<String, Tree.Node> extracted = Tree.scan(in, Tree.USER_XATTRS);
        extracted.remove(".");
        merged.remove(".");
        merged.remove("untarred");
        Tree.assertSame("the merged area and its copy extracted into the mount", merged, extracted, WITH_TIMES);
        assertEquals("added\n", Files.readString(a.up.resolve("untarred/d/added")));

        // Extracting over lower files replaces them.
        Sh.ok("tar", "-C", a.m.toString(), "-xf", archive.toString(), "./shared", "./d/x");
        assertEquals("from l1\n", Files.readString(a.m.resolve("shared")));
    }

    @Test
    void setfattrAndGetfattr() throws Exception {
        Area a = area();
        Sh.ok("setfattr", "-n", "user.one", "-v", "1", a.m("low1"));
        Sh.ok("setfattr", "-n", "user.two", "-v", "0x0001ff", a.m("low1"));
        Sh.Result dump = Sh.ok("getfattr", "-d", "-e", "hex", a.m("low1"));
        assertTrue(dump.stdout().contains("user.one=0x31"), dump::toString);
        assertTrue(dump.stdout().contains("user.two=0x0001ff"), dump::toString);
        Sh.Result recursive = Sh.ok("getfattr", "-R", "-d", "--absolute-names", a.m.toString());
        assertTrue(recursive.stdout().contains("# file: " + a.m("attr") + "\nuser.color=\"blue\""),
                recursive::toString);
        assertTrue(recursive.stdout().contains("user.one=\"1\""), recursive::toString);
        Sh.ok("setfattr", "-x", "user.one", a.m("low1"));
        assertEquals(Map.of("user.two", "0sAAH/"), Xattr.all(a.m.resolve("low1")));
        Sh.Result missing = Sh.run("getfattr", "-n", "user.nope", a.m("low1"));
        assertTrue(missing.stderr().contains("No such attribute"), missing::toString);
        Sh.ok("setfattr", "-n", "user.dir", "-v", "d", a.m("only2"));
        assertEquals("d", Xattr.get(a.m.resolve("only2"), "user.dir"));
        assertEquals("d", Errnos.getxattr(a.up.resolve("only2"), "user.dir"));
    }

    @Test
    void chmod() throws Exception {
        Area a = area();
        Sh.ok("chmod", "-R", "go-rwx", a.m("d"));
        for (String p : List.of("d", "d/w", "d/x", "d/y")) {
            int perms = Errnos.lstat(a.m.resolve(p)).mode() & 0777;
            assertEquals(0, perms & 077, p);
        }
        assertEquals("x2\n", Files.readString(a.up.resolve("d/x")));
        Sh.ok("chmod", "u+s,g+s", a.m("exec"));
        assertEquals(06755, Errnos.lstat(a.m.resolve("exec")).mode() & 07777);
        Sh.ok("chmod", "000", a.m("low2"));
        assertEquals("low2 content\n", Files.readString(a.m.resolve("low2")), "root still reads a 000 file");
        Sh.ok("chmod", "1777", a.m("only2"));
        assertEquals(01777, Errnos.lstat(a.up.resolve("only2")).mode() & 07777);
        Sh.ok("chmod", "--reference=" + a.m("secret"), a.m("shared"));
        assertEquals(0600, Errnos.lstat(a.m.resolve("shared")).mode() & 07777);
    }

    private static Sh.Result asNobody(String... command) {
        String[] cmd = new String[command.length + 4];
        cmd[0] = "setpriv";
        cmd[1] = "--reuid=65534";
        cmd[2] = "--regid=65534";
        cmd[3] = "--clear-groups";
        System.arraycopy(command, 0, cmd, 4, command.length);
        return Sh.run(cmd);
    }

    private static void assertDenied(Sh.Result r, String message) {
        assertNotEquals(0, r.exitCode(), r::toString);
        assertTrue(r.stderr().contains(message), r::toString);
    }

    @Test
    void anUnprivilegedUserGetsOrdinaryPermissionChecks() throws Exception {
        Area a = area();
        assertEquals("65534\n", asNobody("id", "-u").assertOk().stdout());
        assertDenied(asNobody("cat", a.m("secret")), "Permission denied");
        assertEquals("low1 content\n", asNobody("cat", a.m("low1")).assertOk().stdout());
        assertEquals("x2\n", asNobody("cat", a.m("d/x")).assertOk().stdout());
        asNobody("ls", a.m.toString()).assertOk();
        assertDenied(asNobody("touch", a.m("by-nobody")), "Permission denied");
        assertDenied(asNobody("mkdir", a.m("d/nobody-dir")), "Permission denied");
        assertDenied(asNobody("sh", "-c", "echo x >> " + a.m("low1")), "Permission denied");
        assertDenied(asNobody("rm", "-f", a.m("low1")), "Permission denied");
        assertDenied(asNobody("chmod", "777", a.m("low1")), "Operation not permitted");
        assertDenied(asNobody("cat", a.m("owned")), "Permission denied");
        assertFalse(Files.exists(a.m.resolve("by-nobody")));
        assertFalse(Files.exists(a.up.resolve("low1")), "refused writes copy nothing up");

        // A world-writable sticky directory: nobody may create, and owns what it creates; not delete root's.
        Files.createDirectory(a.m.resolve("pub"));
        Sh.ok("chmod", "1777", a.m("pub"));
        Files.writeString(a.m.resolve("pub/roots"), "root's");
        asNobody("sh", "-c", "echo mine > " + a.m("pub/mine")).assertOk();
        assertEquals(65534, Files.getAttribute(a.m.resolve("pub/mine"), "unix:uid"));
        assertEquals(65534, Files.getAttribute(a.m.resolve("pub/mine"), "unix:gid"));
        assertEquals(65534, Files.getAttribute(a.up.resolve("pub/mine"), "unix:uid"));
        assertEquals("mine\n", Files.readString(a.up.resolve("pub/mine")));
        asNobody("mkdir", a.m("pub/nd")).assertOk();
        assertEquals(65534, Files.getAttribute(a.up.resolve("pub/nd"), "unix:uid"));
        assertDenied(asNobody("rm", "-f", a.m("pub/roots")), "Operation not permitted");
        asNobody("rm", a.m("pub/mine")).assertOk();
        asNobody("rmdir", a.m("pub/nd")).assertOk();
        assertEquals(List.of("roots"), list(a.m.resolve("pub")));

        // Copy-ups made for an unprivileged caller keep the lower owner and mode.
        asNobody("sh", "-c", "echo more >> " + a.m("world")).assertOk();
        assertEquals("world\nmore\n", Files.readString(a.up.resolve("world")));
        assertEquals(0, Files.getAttribute(a.up.resolve("world"), "unix:uid"));
        assertEquals(0666, Errnos.lstat(a.up.resolve("world")).mode() & 07777);
        asNobody("sh", "-c", "echo new > " + a.m("open/by-nobody")).assertOk();
        assertEquals(0777, Errnos.lstat(a.up.resolve("open")).mode() & 07777);
        assertEquals(0, Files.getAttribute(a.up.resolve("open"), "unix:uid"));
        assertEquals(65534, Files.getAttribute(a.up.resolve("open/by-nobody"), "unix:uid"));
        asNobody("rm", a.m("open/inside")).assertOk();
        assertTrue(Errnos.isWhiteout(a.up.resolve("open/inside")));
        assertEquals(List.of("by-nobody"), list(a.m.resolve("open")));
    }
}
