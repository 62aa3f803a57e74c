package dev.layerfs.core.attr;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.model.Caller;
import dev.layerfs.core.model.IdMap;
import dev.layerfs.core.model.IdMapping;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.testing.LayerTree;
import dev.layerfs.core.testing.LowerLayersUnchanged;
import dev.layerfs.core.testing.OverlayFixture;
import dev.layerfs.core.testing.OverlayIo;
import java.nio.file.Path;
import java.util.OptionalInt;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * uidmapping/gidmapping through the engine: stat shows mapped owners, new objects and chown store the owners
 * mapped back, a copy-up keeps the stored owners, a squash only changes what is shown.
 */
@ExtendWith(LowerLayersUnchanged.class)
class IdMappingOverlayTest {
    /** A container's root as the host sees it, under {@code --uidmap 0:100000:65536}. */
    static final Caller CONTAINER_ROOT = new Caller(100000, 100000);

    @TempDir
    Path tmp;

    OverlayFixture fx;
    LayerTree upper;

    @BeforeEach
    void fixture() {
        fx = OverlayFixture.create(tmp);
        upper = fx.upper();
        fx.l1().file("etc/passwd", "root").owner(0, 0);
        fx.l1().file("home/u/f", "u").owner(1000, 1001);
        fx.l1().file("odd", "o").owner(70000, 70000);
        fx.l1().file("shifted", "s").owner(100005, 100005);
    }

    private Overlay open(IdMapping ids) {
        return fx.open(fx.writableConfig().withIds(ids));
    }

    private static IdMapping podman() throws Exception {
        return IdMapping.of(IdMap.parse("uidmapping", ":0:100000:65536"),
                IdMap.parse("gidmapping", ":0:200000:65536"));
    }

    @Test
    void statShowsMappedOwnersAndTheOverflowIdForUnmappedOnes() throws Exception {
        Overlay ov = open(podman());
        assertEquals(100000, ov.getattr("etc/passwd").uid());
        assertEquals(200000, ov.getattr("etc/passwd").gid());
        assertEquals(101000, ov.getattr("home/u/f").uid());
        assertEquals(201001, ov.getattr("home/u/f").gid());
        assertEquals(IdMap.OVERFLOW_ID, ov.getattr("odd").uid());
        assertEquals(100005, ov.getattr("shifted").uid(), "already a shown id");
        assertEquals(IdMap.OVERFLOW_ID, ov.getattr("shifted").gid(), "not a shown group id");
    }

    @Test
    void newObjectsStoreTheCallersIdsMappedBack() throws Exception {
        Overlay ov = open(podman());
        OverlayIo.create(ov, "etc/new", "n", 0644, new Caller(100000, 200000));
        ov.mkdir("dir", 0755, new Caller(101000, 201000));
        ov.symlink("target", "link", new Caller(100002, 200002));
        ov.mknod("fifo", Linux.S_IFIFO | 0600, 0, new Caller(100003, 200003));
        assertOwner(0, 0, upper.stat("etc/new"));
        assertOwner(1000, 1000, upper.stat("dir"));
        assertOwner(2, 2, upper.stat("link"));
        assertOwner(3, 3, upper.stat("fifo"));
        assertOwner(100000, 200000, ov.getattr("etc/new"));
        assertOwner(101000, 201000, ov.getattr("dir"));
    }

    @Test
    void aCallerOutsideTheMappingCreatesObjectsOwnedByTheOverflowId() throws Exception {
        Overlay ov = open(podman());
        OverlayIo.create(ov, "hostfile", "h", 0644, Caller.ROOT);
        assertOwner(IdMap.OVERFLOW_ID, IdMap.OVERFLOW_ID, upper.stat("hostfile"));
    }

    @Test
    void chownStoresTheGivenIdsMappedBackAndMinusOneLeavesAnIdAlone() throws Exception {
        Overlay ov = open(podman());
        ov.chown("home/u/f", 100007, -1);
        assertOwner(7, 1001, upper.stat("home/u/f"));
        ov.chown("home/u/f", -1, 200009);
        assertOwner(7, 9, upper.stat("home/u/f"));
        assertOwner(100007, 200009, ov.getattr("home/u/f"));
    }

    @Test
    void copyUpKeepsTheStoredOwners() throws Exception {
        Overlay ov = open(podman());
        OverlayIo.write(ov, "home/u/f", "changed");
        assertOwner(1000, 1001, upper.stat("home/u/f"));
        assertOwner(0, 0, upper.stat("home/u"));
        assertOwner(0, 0, upper.stat("home"));
        assertOwner(101000, 201001, ov.getattr("home/u/f"));
    }

    @Test
    void copyUpOfAnAlreadyShiftedLowerObjectStoresTheIdsItStandsFor() throws Exception {
        fx.l1().file("shifted-file", "s").owner(100005, 200006);
        fx.l1().dir("shifted-dir").owner(100007, 200008).mode(02775);
        fx.l1().file("unmapped", "u").owner(70000, 70001);
        Overlay ov = open(podman());
        ov.chmod("shifted-file", 0600);
        ov.chmod("unmapped", 0600);
        assertOwner(5, 6, upper.stat("shifted-file"), "the form new files and chown store");
        assertOwner(100005, 200006, ov.getattr("shifted-file"));
        assertOwner(70000, 70001, upper.stat("unmapped"), "an id no range covers stays as it is");
        ov.mkdir("shifted-dir/sub", 0755, new Caller(100000, 200000));
        assertOwner(0, 8, upper.stat("shifted-dir/sub"), "setgid parent's group, stored form");
        assertOwner(7, 8, upper.stat("shifted-dir"));
    }

    @Test
    void theContainersRootKeepsSetuidAtOTruncAndItsUsersDoNot() throws Exception {
        fx.l1().file("suid", "s").owner(0, 0).mode(04755);
        fx.l1().file("suid5", "s").owner(5, 5).mode(04755);
        Overlay ov = open(podman());
        ov.release(ov.open("suid", Linux.O_WRONLY | Linux.O_TRUNC, 0, new Caller(100000, 200000)));
        assertEquals(04755, ov.getattr("suid").mode() & 07777, "root inside holds CAP_FSETID over its files");
        ov.release(ov.open("suid5", Linux.O_WRONLY | Linux.O_TRUNC, 0, new Caller(100005, 200005)));
        assertEquals(0755, ov.getattr("suid5").mode() & 07777);
    }

    @Test
    void anOpenFilesStatIsMappedToo() throws Exception {
        Overlay ov = open(podman());
        OpenFile f = ov.open("home/u/f", Linux.O_RDONLY);
        assertOwner(101000, 201001, ov.fstat(f));
        ov.release(f);
    }

    @Test
    void accessIsJudgedOnTheShownOwner() throws Exception {
        fx.l1().file("private", "p").owner(5, 5).mode(0600);
        Overlay ov = open(podman());
        ov.access("private", Linux.R_OK | Linux.W_OK, new Caller(100005, 1));
    }

    @Test
    void aSquashShowsEveryObjectAsItsOwnerButStoresTheCallersIds() throws Exception {
        Overlay ov = open(IdMapping.IDENTITY.withSquash(OptionalInt.of(0), OptionalInt.of(0)));
        assertOwner(0, 0, ov.getattr("home/u/f"));
        OverlayIo.create(ov, "mine", "m", 0644, new Caller(1000, 1000));
        assertOwner(1000, 1000, upper.stat("mine"));
        assertOwner(0, 0, ov.getattr("mine"));
    }

    private static void assertOwner(int uid, int gid, Stat st) {
        assertEquals(uid + ":" + gid, st.uid() + ":" + st.gid());
    }

    private static void assertOwner(int uid, int gid, Stat st, String why) {
        assertEquals(uid + ":" + gid, st.uid() + ":" + st.gid(), why);
    }
}
