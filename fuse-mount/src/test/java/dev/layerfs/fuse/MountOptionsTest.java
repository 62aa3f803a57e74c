package dev.layerfs.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.core.model.IdMap;
import dev.layerfs.core.model.IdMapping;
import dev.layerfs.core.model.KernelFeatures;
import dev.layerfs.fuse.kernel.PassthroughMode;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The {@code -o} options container tools pass, parsed as fuse-overlayfs does. */
class MountOptionsTest {
    private static MountOptions parse(String options) throws UsageException {
        MountOptions o = new MountOptions();
        o.parse(options);
        return o;
    }

    @Test
    void whatPodmanPassesUnderUidmap() throws Exception {
        MountOptions o = parse("lowerdir=/g/l/A:/g/l/B,upperdir=/g/x/diff,workdir=/g/x/work,,volatile,"
                + "uidmapping=:0:100000:65536,gidmapping=:0:200000:1000");
        assertEquals(List.of(Path.of("/g/l/A"), Path.of("/g/l/B")), o.lowerDirs);
        assertEquals(false, o.fsync);
        assertEquals(List.of(), o.unknown, "nothing left unknown");
        IdMapping ids = o.idMapping();
        assertEquals(100005, ids.shownUid(5));
        assertEquals(200005, ids.shownGid(5));
        assertEquals(IdMap.OVERFLOW_ID, ids.shownGid(1000));
        assertEquals(5, ids.storedUid(100005));
    }

    @Test
    void timeoutIsTheTransportsDefaultUnlessGiven() throws Exception {
        assertEquals(KernelTransport.DEFAULT_TIMEOUT_SECONDS, parse("lowerdir=/a")
                .timeoutSeconds(KernelTransport.DEFAULT_TIMEOUT_SECONDS));
        assertEquals(Libfuse2Transport.DEFAULT_TIMEOUT_SECONDS, parse("lowerdir=/a")
                .timeoutSeconds(Libfuse2Transport.DEFAULT_TIMEOUT_SECONDS));
        assertEquals(0.0, parse("lowerdir=/a,timeout=0").timeoutSeconds(KernelTransport.DEFAULT_TIMEOUT_SECONDS));
        assertEquals(2.5, parse("timeout=7,lowerdir=/a,timeout=2.5").timeoutSeconds(1.0), "the last one given");
        assertThrows(UsageException.class, () -> parse("lowerdir=/a,timeout=-1"));
    }

    @Test
    void withoutMappingOptionsIdsPassThrough() throws Exception {
        assertTrue(parse("lowerdir=/a").idMapping().isIdentity());
    }

    @Test
    void squashToUidAndGidWinOverSquashToRootInEitherOrder() throws Exception {
        IdMapping a = parse("lowerdir=/a,squash_to_uid=1000,squash_to_root").idMapping();
        assertEquals(OptionalInt.of(1000), a.squashUid());
        assertEquals(OptionalInt.of(0), a.squashGid());
        IdMapping b = parse("lowerdir=/a,squash_to_root,squash_to_gid=50").idMapping();
        assertEquals(OptionalInt.of(0), b.squashUid());
        assertEquals(OptionalInt.of(50), b.squashGid());
        IdMapping c = parse("lowerdir=/a,squash_to_gid=50").idMapping();
        assertEquals(OptionalInt.empty(), c.squashUid());
        assertEquals(50, c.shownGid(3));
        assertEquals(3, c.shownUid(3));
    }

    @Test
    void badMappingsAndIdsAreOneLineUsageErrors() {
        for (String bad : List.of("uidmapping=0:1", "gidmapping=x:1:2", "uidmapping=", "squash_to_uid=-1",
                "squash_to_gid=abc", "squash_to_uid=4294967295", "squash_to_uid")) {
            UsageException e = assertThrows(UsageException.class, () -> parse("lowerdir=/a," + bad), bad);
            assertTrue(e.getMessage().startsWith("malformed option "), e.getMessage());
            assertTrue(!e.getMessage().contains("\n"), e.getMessage());
        }
    }

    @Test
    void manyLowerLayersAndLongOptionLists() throws Exception {
        String lowers = IntStream.range(0, 127)
                .mapToObj(i -> "/var/lib/containers/storage/overlay/l/ABCDEFGHIJKLMNOPQRSTUVWXY" + i)
                .collect(Collectors.joining(":"));
        MountOptions o = parse("lowerdir=" + lowers + ",upperdir=/u,workdir=/w,");
        assertEquals(127, o.lowerDirs.size());
        assertTrue(("lowerdir=" + lowers).length() > 8000);
    }

    @Test
    void theFormMountFuse3Runs() throws Exception {
        CommandLine cl = CommandLine.parse(new String[] {"overlay", "/t", "-o",
            "workdir=/w,upperdir=/u,lowerdir=/a:/b,dev,suid"});
        assertEquals("overlay", cl.source.orElseThrow());
        assertEquals(Path.of("/t"), cl.mountPoint);
        assertEquals(List.of(Path.of("/a"), Path.of("/b")), cl.options.lowerDirs);
        assertEquals(List.of(), cl.options.unknown);
    }

    @Test
    void kernelFeatureOptionsAreResolvedByTheKernelsRules() throws Exception {
        CommandLine cl = CommandLine.parse(new String[] {"/t", "-o",
            "lowerdir=/a,upperdir=/u,workdir=/w,redirect_dir=on,index=off,xino=auto,metacopy=off"});
        assertEquals(KernelFeatures.RedirectDir.ON, cl.options.features.redirectDir());
        assertEquals(List.of(), cl.options.unknown);
        assertEquals(KernelFeatures.DEFAULT, CommandLine.parse(new String[] {"/t", "-o", "lowerdir=/a"})
                .options.features);
        UsageException e = assertThrows(UsageException.class, () -> CommandLine.parse(new String[] {"/t", "-o",
            "lowerdir=/a,metacopy=on,redirect_dir=nofollow"}));
        assertTrue(e.getMessage().startsWith("conflicting options: metacopy=on,redirect_dir=nofollow"));
        assertTrue(!e.getMessage().contains("\n"));
        assertThrows(UsageException.class, () -> CommandLine.parse(new String[] {"/t", "-o",
            "lowerdir=/a,redirect_dir=sideways"}));
    }

    @Test
    void transportIsChosenByOption() throws Exception {
        assertEquals(Optional.of("kernel"), parse("lowerdir=/a,transport=kernel").transport);
        assertEquals(Optional.of("libfuse2"), parse("lowerdir=/a,transport=kernel,transport=libfuse2").transport);
        assertEquals(Optional.empty(), parse("lowerdir=/a").transport);
        assertThrows(UsageException.class, () -> parse("lowerdir=/a,transport=fuse3"));
        assertThrows(UsageException.class, () -> parse("lowerdir=/a,transport="));
        assertEquals(List.of(), parse("lowerdir=/a,transport=kernel").unknown);
    }

    @Test
    void passthroughIsUpperUnlessTheOptionSaysOtherwise() throws Exception {
        assertEquals(PassthroughMode.UPPER, parse("lowerdir=/a").passthrough);
        assertEquals(PassthroughMode.ALL, parse("lowerdir=/a,passthrough=all").passthrough);
        assertEquals(PassthroughMode.OFF, parse("lowerdir=/a,passthrough=all,passthrough=off").passthrough);
        UsageException e = assertThrows(UsageException.class, () -> parse("lowerdir=/a,passthrough=lower"));
        assertEquals("malformed option passthrough=lower: expected upper, all or off", e.getMessage());
        assertThrows(UsageException.class, () -> parse("lowerdir=/a,passthrough"));
    }
}
