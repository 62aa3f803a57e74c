package dev.layerfs.it.fuzz;

import dev.layerfs.it.Transports;
import org.junit.jupiter.api.Test;

/**
 * Divergences the differential fuzzer found, shrunk to minimal sequences: each is a permanent test.
 *
 * <ul>
 * <li>Bugs that were fixed: the sequence must now agree ({@link Scenario#assertAgree}).</li>
 * <li>Documented differences (permanent entries of {@link Allowed}, README "How layerfs differs"): the sequence
 * diverges in exactly the documented way ({@link Scenario#assertDivergesExactly}), so the entry goes when the
 * difference does.</li>
 * <li>Differences of the FUSE attribute cache, which last at most the attribute timeout: the sequence agrees with
 * {@code timeout=0} (with the default timeout=1 the result depends on how fast the machine is, so it is not
 * asserted).</li>
 * <li>An open bug is a test marked {@code @Disabled("BUG: ...")} with a TEMPORARY entry in {@link Allowed}.</li>
 * </ul>
 */
class DifferentialFuzzRegressionTest {
    /** The layerfs options under which the attribute cache agrees (Allowed.FUSE_ATTRIBUTE_CACHE, where it applies). */
    private static String attributeCacheOptions() {
        return Allowed.FUSE_ATTRIBUTE_CACHE.applies() ? Allowed.FUSE_ATTRIBUTE_CACHE.layerfsOptions() : "";
    }

    /** A stack with some of everything, and operations across it: the machinery itself. */
    @Test
    void smoke() {
        Scenario.assertAgree("""
                lowers 2
                L1 dir . 0755 0:0 1100000000.000000001
                L1 file a 0644 1000:1000 1100000000.000000005 size=12 seed=7 user.a=v1
                L1 dir d 0755 0:0 1100000000.000000002 opaque
                L1 file d/x 0600 0:0 1100000000.000000003 size=70000 seed=8
                L1 link s 0:0 1100000000.000000004 -> a
                L2 dir . 0755 0:0 1100000000.000000001
                L2 file b 0644 0:0 1100000000.000000006 size=5000 seed=9 sparse
                L2 dir d 0755 0:0 1100000000.000000002
                L2 file d/hidden 0644 0:0 1100000000.000000006 size=1 seed=1
                L2 fifo p 0644 0:0 1100000000.000000007
                L2 file c 0644 0:0 1100000000.000000006 size=3 seed=2
                L1 wh c
                --
                stat c
                readdir d
                open 0 a RDWR 0644
                write 0 3 10 42
                read 0 0 20
                close 0
                rename b n 0
                mkdir e 0755
                as 1000 open - e/f WRONLY|CREAT 0600
                as 65534 unlink a
                setxattr a user.b =w1 0
                lutimens s 1200000000.000000001 1200000000.000000002
                """);
    }

    /** The same stack with both lower layers in AUFS form on layerfs's side (.wh.c, d/.wh..wh..opq). */
    @Test
    void smokeWithAufsLowerLayers() {
        Scenario.assertAgree("""
                lowers 2 aufs 1,2
                L1 dir . 0755 0:0 1100000000.000000001
                L1 file a 0644 1000:1000 1100000000.000000005 size=12 seed=7 user.a=v1
                L1 dir d 0755 0:0 1100000000.000000002 opaque
                L1 file d/x 0600 0:0 1100000000.000000003 size=70000 seed=8
                L1 link s 0:0 1100000000.000000004 -> a
                L2 dir . 0755 0:0 1100000000.000000001
                L2 file b 0644 0:0 1100000000.000000006 size=5000 seed=9 sparse
                L2 dir d 0755 0:0 1100000000.000000002
                L2 file d/hidden 0644 0:0 1100000000.000000006 size=1 seed=1
                L2 fifo p 0644 0:0 1100000000.000000007
                L2 file c 0644 0:0 1100000000.000000006 size=3 seed=2
                L1 wh c
                --
                stat c
                readdir d
                open 0 a RDWR 0644
                write 0 3 10 42
                read 0 0 20
                close 0
                rename b n 0
                mkdir e 0755
                as 1000 open - e/f WRONLY|CREAT 0600
                as 65534 unlink a
                setxattr a user.b =w1 0
                lutimens s 1200000000.000000001 1200000000.000000002
                """);
    }

    /** Fixed: I/O on a descriptor whose name was unlinked failed with ENOENT (libfuse 2 forgot the path);
     * now libfuse's nullpath_ok/nopath flags are set and layerfs pins the unlinked file (HiddenFiles). */
    @Test
    void writeToAnOpenFileAfterItsUnlink() {
        Scenario.assertAgree("""
                lowers 1
                L1 dir . 0755 0:0 1364205410.392718931
                --
                open 2 d RDWR|CREAT 2775
                unlink d
                write 2 59761 55 557632
                """);
    }

    /** Fixed: utimensat with UTIME_OMIT for one time changed nothing (libfuse 2 resolved OMIT itself);
     * now libfuse's utime_omit_ok flag is set. */
    @Test
    void utimensWithOmitChangesNothing() {
        Scenario.assertAgree("""
                lowers 1
                L1 dir . 0755 0:0 1045393767.649926376
                L1 dir c 0755 0:0 1113258250.887898971
                --
                lutimens c OMIT 1146816397.397683285
                """);
    }

    /** Fixed: UTIME_NOW with UTIME_OMIT changed nothing (as above). */
    @Test
    void utimensNowOmitOnALowerFifo() {
        Scenario.assertAgree("""
                lowers 1
                L1 dir . 0755 0:0 1132940793.178045170
                L1 fifo d 0644 0:0 1179094705.612893212
                --
                lutimens d NOW OMIT
                """);
    }

    /** Fixed: open(O_TRUNC) by an unprivileged owner kept setuid; with atomic_o_trunc the kernel leaves
     * clearing it to the file system, which now does (Overlay.open). */
    @Test
    void openWithTruncByTheOwnerClearsSetuid() {
        Scenario.assertAgree("""
                lowers 1
                L1 dir . 0755 0:0 1418321244.358992578
                L1 dir b 0755 0:0 1144120185.519717029
                L1 file b/b 4755 1000:0 1101056688.762179387 size=3 seed=302655
                --
                as 1000 open 2 b/b RDWR|TRUNC 0644
                """);
    }

    /** Fixed: data written through one hard-linked name was not seen through another read before
     * (kernel_cache kept each name's pages); now auto_cache. The link count of the other names lags with the
     * default timeout=1 (Allowed.FUSE_ATTRIBUTE_CACHE). */
    @Test
    void writeThroughOneHardLinkReadThroughAnother() {
        Scenario.assertAgree("""
                lowers 1
                L1 dir . 0755 0:0 1148213300.185118765
                L1 file a 0644 0:0 1282222409.364110960 size=3436 seed=397616
                --
                link a b
                link b c
                open 0 c RDWR 0444
                write 0 0 6 1
                """, "timeout=0");
    }

    /**
     * Fixed: fstat of an open file after one of its two names was unlinked said nlink 0 (the kernel: 1). libfuse
     * takes one off the count of a node it hid, for the hidden name it thinks remains; layerfs removes that name
     * for real (HiddenFiles), so it now hands libfuse one more.
     */
    @Test
    void fstatAfterUnlinkingOneOfTwoNames() {
        Scenario.assertAgree("""
                lowers 1
                U dir . 1777 65534:0 1011341812.994655313
                U dir c 0700 1001:1000 1372232681.617499979
                U dir c/c 2775 65534:1000 1165067571.486315811
                U dir d 0775 1000:1000 1167950965.199237349
                L1 dir . 2775 1000:0 1370788995.274280822
                --
                open 2 c/c/m RDWR|CREAT|EXCL|TRUNC 0600
                link c/c/m d/o
                unlink c/c/m
                fstat 2
                write 2 0 10 7
                fstat 2
                unlink d/o
                fstat 2
                """, "timeout=0");
    }

    /**
     * Fixed: rename between two names of one file did a real rename on layerfs (the second name went away);
     * the VFS does nothing for source == target. Through FUSE the kernel sees two inodes and asks layerfs, which
     * now compares the real files.
     */
    @Test
    void renameBetweenTwoNamesOfOneFileKeepsBoth() {
        Scenario.assertAgree("""
                lowers 1
                L1 dir . 0755 0:0 1197667876.337989158
                L1 file a 0644 0:0 1310069492.904695237 size=1042 seed=5
                L1 file b 0644 0:0 1310069492.904695237 size=10 seed=6
                L1 hard c -> b
                --
                link a o
                rename a o 0
                stat a
                rename b c 0
                stat b
                lutimens a 1197667876.337989158 1310069492.904695237
                """, "timeout=0");
    }

    /**
     * Fixed: rename between two names of one file while the target name is open. libfuse 2 first hides the open
     * target (renames it to .fuse_hidden...), which layerfs turned into a real unlink, so the rename that followed
     * moved the source onto the freed name: the source's name was lost. Inside a RENAME request the hidden name
     * is now left for the rename itself (which does nothing here). Also the other case: the source is a different
     * file, and the open target keeps working.
     */
    @Test
    void renameOntoAnOpenNameOfTheSameFile() {
        Scenario.assertAgree("""
                lowers 1
                L1 dir . 0777 0:0 1233901773.515496254
                L1 file a 0666 1001:0 1226786030.482076666 size=6886 seed=862698 user.a=v43
                L1 file d 2755 1001:1001 1273069777.161708060 size=29 seed=160055
                --
                link a o
                open 0 o RDWR 4755
                as 1000 rename a o 0
                lutimens a 1197667876.337989158 1310069492.904695237
                fstat 0
                rename d o 0
                fstat 0
                write 0 0 10 3
                read 0 0 10
                stat o
                """, "timeout=0");
    }

    /**
     * Allowed.FUSE_ATTRIBUTE_CACHE: agrees with timeout=0 through libfuse 2; the kernel transport, one node per
     * object and told of each copy-up, agrees with the default timeout.
     */
    @Test
    void hardLinkedNameSeesTruncateThroughTheOther() {
        Scenario.assertAgree("""
                lowers 1
                U dir . 0755 0:0 1152613264.068628319
                U file d 0644 0:0 1216998933.479420972 size=0 seed=979694
                U hard e -> d
                L1 dir . 0755 0:0 1102630762.467921371
                --
                truncate e 19
                """, attributeCacheOptions());
    }

    /**
     * Allowed.FUSE_ATTRIBUTE_CACHE: agrees with timeout=0 through libfuse 2; the kernel transport, one node per
     * object and told of each copy-up, agrees with the default timeout.
     */
    @Test
    void chownThroughOneHardLinkName() {
        Scenario.assertAgree("""
                lowers 1
                L1 dir . 0755 0:0 1498205962.161854562
                L1 fifo e 0644 0:0 1218989534.449852475
                --
                link e m
                lchown e 0 65534
                """, attributeCacheOptions());
    }

    /**
     * Allowed.FUSE_ATTRIBUTE_CACHE: agrees with timeout=0 through libfuse 2; the kernel transport, one node per
     * object and told of each copy-up, agrees with the default timeout.
     */
    @Test
    void parentNlinkAfterCopyUp() {
        Scenario.assertAgree("""
                lowers 1
                L1 dir . 0755 0:0 1120580396.186860423
                L1 dir b 0755 0:0 1469675389.969763686
                L1 dir b/a 0755 0:0 1202559604.473522421
                L1 file b/a/a 0644 0:0 1440621655.469865368 size=3 seed=610900
                --
                stat b/a
                chmod b/a/a 0644
                stat b/a
                """, attributeCacheOptions());
    }

    /**
     * Fixed on the kernel transport, found by its first campaign without timeout=0 (seed 11, sequence seeds
     * 5819678923331944247 and 8742468427258847072): a merged directory of a hand-made upper layer gets its origin
     * record when first looked up, which changes its inode number; the kernel kept the parent's listing, cached
     * with the old d_ino (the parent's mtime does not change). Now the origin's recording is told to the kernel
     * as a copy-up is, and the parent's next OPENDIR does not keep the cached listing.
     */
    @Test
    void dInoOfAMergedDirectoryWhoseOriginIsRecordedAtLookup() {
        Scenario.assertAgree("""
                lowers 3
                U dir . 0755 0:1001 1420766547.082230576
                U dir d 1777 0:1000 1398677132.342358750 user.c=v19
                U file d/b 0755 1001:0 1388671811.189479108 size=62 seed=657971 user.a=v94
                L1 dir . 2775 0:1001 1191706386.087628856 user.b=v78
                L3 dir . 0755 65534:1001 1163665859.088105087
                L3 dir d 0777 1001:0 1402380537.199457969
                L3 dir d/b 0755 0:0 1393532136.502859187
                --
                stat d
                """, attributeCacheOptions());
    }

    /**
     * Allowed.SPARSER_COPY_UP, found by the kernel transport's campaign (seed 21, sequence seed
     * 6691596576801385600), on both transports: layerfs's copy keeps the lower file's hole, where ext4 reads a
     * misaligned O_DIRECT range without the alignment check it makes on the kernel's dense copy.
     */
    @Test
    void misalignedDirectReadOfAHoleKeptAtCopyUp() {
        Scenario.assertExcused(Allowed.SPARSER_COPY_UP, """
                lowers 1
                L1 dir . 0755 0:0 1466256577.902121384
                L1 file c 0644 0:0 1366576082.094743370 size=153329 seed=215839 sparse
                --
                open 0 c RDWR|DIRECT 4755
                read 0 57005 899
                """, attributeCacheOptions(),
                "op/read: op 2 `read 0 57005 899`: kernel EINVAL, layerfs ok 899 3257f8338662 links=1",
                "upper/holes: c: holes: kernel dense, layerfs sparse;");
    }

    /**
     * Fixed on the kernel transport, found by its campaign with fchmod in the generator (seed 21, sequence seed
     * 2913674978337311338): fchmod of a file whose name was removed reached layerfs as a SETATTR without a handle
     * for a node without a path (ENOENT); now it changes the file through one of the node's open files (EEXIST
     * where that file is still the lower one, as the kernel's copy-up meets the whiteout), and a removed fifo
     * through its pin. Through libfuse 2 Allowed.FSTAT_OF_A_NAMELESS_NODE's path API answers ENOENT.
     */
    @Test
    void fchmodOfRemovedOpenFiles() {
        String seq = """
                lowers 1
                L1 dir . 0755 0:0 1100000000.000000001
                L1 file l 0644 0:0 1100000000.000000005 size=12 seed=7
                --
                open 1 b RDWR|CREAT|EXCL 0644
                unlink b
                fchmod 1 0444
                fstat 1
                open 2 l RDONLY 0644
                unlink l
                fchmod 2 0444
                mkfifo p 0644
                open 0 p RDWR 0644
                unlink p
                fchmod 0 0400
                fstat 0
                """;
        org.junit.jupiter.api.Assumptions.assumeTrue(Transports.kernel(),
                "through libfuse 2 a node without a path answers ENOENT (Allowed.FSTAT_OF_A_NAMELESS_NODE)");
        Scenario.assertAgree(seq, attributeCacheOptions());
    }

    /**
     * Allowed.FCHMOD_OF_A_REMOVED_LOWER_OBJECT: the kernel overlay copies the removed fifo up to its old name (the
     * name is back in the view and the upper layer), layerfs answers ENOENT and changes nothing.
     */
    @Test
    void fchmodOfARemovedLowerFifo() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Transports.kernel(),
                "through libfuse 2 a node without a path answers ENOENT (Allowed.FSTAT_OF_A_NAMELESS_NODE)");
        Scenario.assertDivergesExactly("""
                lowers 1
                L1 dir . 0755 0:0 1100000000.000000001
                L1 fifo p 0644 0:0 1100000000.000000007
                --
                open 1 p RDWR 0644
                unlink p
                fchmod 1 0400
                fstat 1
                """, attributeCacheOptions(),
                "op/fchmod: op 3 `fchmod 1 0400`: kernel ok, layerfs ENOENT",
                "op/fstat: op 4 `fstat 1`: kernel p 0400 0:0 size=0 nlink=1 mtime=1100000000.000000007, layerfs p 0644"
                        + " 0:0 size=0 nlink=1 mtime=1100000000.000000007",
                "merged/missing: p: {type=p, mode=0400, owner=0:0, size=0, nlink=1, xattrs={},"
                        + " mtime=1100000000.000000007} only on the kernel's side",
                "upper/type: p: mode: kernel 0400, layerfs null; mtime: kernel 1100000000.000000007, layerfs null;"
                        + " nlink: kernel 1, layerfs null; owner: kernel 0:0, layerfs null; size: kernel 0, layerfs"
                        + " null; type: kernel p, layerfs whiteout; xattrs: kernel {}, layerfs null;",
                "cross-kernel/missing: p: {type=p, mode=0400, owner=0:0, size=0, nlink=1, xattrs={},"
                        + " mtime=1100000000.000000007} only on the kernel's side");
    }

    /**
     * Allowed.CHOWN_WITHOUT_CHANGE: through libfuse 2 the kernel copies up, layerfs is not asked; the kernel
     * transport hands layerfs the SETATTR that changes nothing, and it copies up as the kernel overlay does.
     */
    @Test
    void chownToMinusOneCopiesUpOnTheKernelOnly() {
        String seq = """
                lowers 1
                L1 dir . 0755 0:0 1025216548.399479958
                L1 file a 0644 0:0 1446169753.345058138 size=37 seed=635652
                --
                chown a -1 -1
                """;
        if (!Allowed.CHOWN_WITHOUT_CHANGE.applies()) {
            Scenario.assertAgree(seq, "timeout=0");
            return;
        }
        Scenario.assertDivergesExactly(seq, "timeout=0",
                "merged/nlink: .: nlink: kernel 1, layerfs 2;",
                "upper/missing: .: {type=d, mode=0755, owner=0:0, xattrs={}, mtime=1025216548.399479958}"
                        + " only on the kernel's side",
                "upper/missing: a: {type=f, mode=0644, owner=0:0, size=37, nlink=1,"
                        + " content=39d7137c0cbf, xattrs={}, mtime=1446169753.345058138} only on the kernel's side",
                "cross-kernel/nlink: .: nlink: kernel 1, layerfs 2;");
    }

    /**
     * Allowed.DIRECT_IO_FROM_AN_UNALIGNED_BUFFER, found by the first 10,000-sequence campaign with O_DIRECT in
     * the generator (seed 9, sequence seed 5454686410119990441): FUSE does not pass the client's buffer on. A
     * buffer 512 bytes past a page boundary (the disk's logical block) and an unaligned offset agree.
     */
    @Test
    void directIoFromAnUnalignedBufferFailsOnTheKernelOnly() {
        Scenario.assertDivergesExactly("""
                lowers 1
                L1 dir . 0755 0:0 1100000000.000000001
                L1 file a 0644 0:0 1100000000.000000002 size=16384 seed=1
                --
                open 0 a RDONLY|DIRECT 0644
                dread 0 4096 4096 1
                dread 0 4096 4096 512
                dread 0 4097 4096 0
                """, "timeout=0",
                "op/dread: op 2 `dread 0 4096 4096 1`: kernel EINVAL, layerfs ok 4096 2464e2c4a8ed links=1");
    }

    /**
     * Allowed.FSTAT_OF_A_NAMELESS_NODE for a device node and an O_DIRECT read, found by the 10,000-sequence
     * campaign (seed 10, sequence seed 919987830078598225): the read works, the link count it reports does not.
     */
    @Test
    void readOfAnUnlinkedOpenDeviceReportsNoLinkCount() {
        Scenario.assertExcused(Allowed.FSTAT_OF_A_NAMELESS_NODE, """
                lowers 1
                L1 dir . 0755 0:0 1100000000.000000001
                --
                mknod m 0755 chr
                open 2 m RDONLY 0755
                unlink m
                dread 2 0 4096 0
                """, "timeout=0",
                "op/dread: op 4 `dread 2 0 4096 0`: kernel ok 0 d41d8cd98f00 links=0,"
                        + " layerfs ok 0 d41d8cd98f00 links=ENOENT");
    }

    /**
     * Allowed.FIFO_PER_NAME then Allowed.FSTAT_OF_A_NAMELESS_NODE, found by the 10,000-sequence campaign (seed 11,
     * sequence seed 5461578724147791092) on the libfuse2 transport: the write-open of the fifo's other name fails
     * on layerfs alone, so its slot keeps the descriptor opened at the name that is then unlinked.
     */
    @Test
    void fstatOfAFifoSlotThatKeptTheDescriptorOfAnUnlinkedName() {
        String seq = """
                lowers 1
                L1 dir . 0755 0:0 1120837726.427245875
                L1 dir b 0755 0:0 1418174154.233087980
                L1 fifo b/d 0644 0:0 1103216341.040696883
                --
                link b/d b/a
                open 2 b/a RDWR 0444
                open 2 b/d WRONLY 1777
                unlink b/a
                fstat 2
                """;
        // On the kernel transport the two names are one inode, so one pipe: the write-open meets the reader.
        if (Transports.kernel()) {
            Scenario.assertAgree(seq, "timeout=0");
            return;
        }
        Scenario.assertExcused(java.util.Set.of(Allowed.FIFO_PER_NAME, Allowed.FSTAT_OF_A_NAMELESS_NODE), seq,
                "timeout=0",
                "op/open: op 3 `open 2 b/d WRONLY 1777`: kernel ok ino=kept, layerfs ENXIO",
                "op/fstat: op 5 `fstat 2`: kernel p 0644 0:0 size=0 nlink=1 mtime=1103216341.040696883,"
                        + " layerfs ENOENT");
    }

    /** Allowed.OPAQUE_SET_BY_A_FAILED_RENAME: only the kernel's upper layer gets the opaque marker. */
    @Test
    void failedRenameLeavesTheSourceOpaqueOnTheKernelOnly() {
        Scenario.assertExcused(Allowed.OPAQUE_SET_BY_A_FAILED_RENAME, """
                lowers 1
                U dir . 0755 0:0 1279865114.768913841
                U dir b 0755 0:0 1371362738.175709126
                L1 dir . 0755 0:0 1367113082.392763641
                --
                mkdir m 0600
                mkdir b/b 0000
                rename m b 0
                """, "timeout=0",
                "upper/xattrs: m: xattrs: kernel {trusted.overlay.opaque=y}, layerfs {};");
    }

    /**
     * Allowed.OPAQUE_SET_BY_A_FAILED_RENAME, followed through a later rename of that directory (seed 11 of the
     * 10,000-sequence campaign, sequence seed 6750973089794238291; also reported by the kernel-features work).
     */
    @Test
    void theOpaqueMarkOfAFailedRenameMovesWithTheDirectory() {
        Scenario.assertExcused(Allowed.OPAQUE_SET_BY_A_FAILED_RENAME, """
                lowers 1
                U dir . 0755 0:0 1279865114.768913841
                U dir b 0755 0:0 1371362738.175709126
                L1 dir . 0755 0:0 1367113082.392763641
                --
                mkdir m 0600
                mkdir b/b 0000
                rename m b 0
                rename m b/n 0
                """, "timeout=0",
                "upper/xattrs: b/n: xattrs: kernel {trusted.overlay.opaque=y}, layerfs {};");
    }

    /** Allowed.RMDIR_WITH_STALE_WHITEOUTS: the kernel counts the whiteout, layerfs removes the directory. */
    @Test
    void rmdirOfAPureUpperDirectoryHoldingAStaleWhiteout() {
        Scenario.assertDivergesExactly("""
                lowers 1
                U dir . 0755 0:0 1204324712.808789822
                U dir b 0755 0:0 1195501211.533382489
                U dir b/d 0755 0:0 1103689195.175003812
                U wh b/d/d
                L1 dir . 0755 0:0 1148529396.189323355
                --
                rmdir b/d
                """, "timeout=0",
                "op/rmdir: op 1 `rmdir b/d`: kernel ENOTEMPTY, layerfs ok",
                "merged/missing: b/d: {type=d, mode=0755, owner=0:0, nlink=2, xattrs={},"
                        + " mtime=1103689195.175003812} only on the kernel's side",
                "merged/nlink: b: mtime: kernel 1195501211.533382489, layerfs new; nlink: kernel 3,"
                        + " layerfs 2;",
                "upper/missing: b/d: {type=d, mode=0755, owner=0:0, xattrs={},"
                        + " mtime=1103689195.175003812} only on the kernel's side",
                "upper/missing: b/d/d: {type=whiteout} only on the kernel's side",
                "upper/mtime: b: mtime: kernel 1195501211.533382489, layerfs new;",
                "cross-kernel/missing: b/d: {type=d, mode=0755, owner=0:0, nlink=2, xattrs={},"
                        + " mtime=1103689195.175003812} only on the kernel's side",
                "cross-kernel/missing: b/d/d: {type=ghost} only on the kernel's side",
                "cross-kernel/nlink: b: mtime: kernel 1195501211.533382489, layerfs new; nlink: kernel"
                        + " 3, layerfs 2;");
    }

    /** Allowed.RENAME_BETWEEN_HARD_LINKS: the kernel sees one inode, FUSE shows it two. */
    @Test
    void unprivilegedRenameBetweenTwoNamesOfOneFile() {
        String seq = """
                lowers 1
                U dir . 0755 0:0 1198205002.199003467
                U file e 0644 0:0 1472987924.336463037 size=1 seed=215138
                U hard a -> e
                L1 dir . 0755 0:0 1322371705.367421727
                --
                as 1000 rename a e 0
                """;
        // On the kernel transport (one kernel inode per object) the difference is gone.
        if (Transports.kernel()) {
            Scenario.assertAgree(seq, "timeout=0");
            return;
        }
        Scenario.assertExcused(Allowed.RENAME_BETWEEN_HARD_LINKS, seq, "timeout=0",
                "op/rename: op 1 `as 1000 rename a e 0`: kernel ok ino=kept, layerfs EACCES");
    }

    /** Allowed.SPARSER_COPY_UP: layerfs keeps a hole smaller than the kernel's 1 MiB copy chunk. */
    @Test
    void copyUpKeepsSmallHolesOnLayerfsOnly() {
        Scenario.assertExcused(Allowed.SPARSER_COPY_UP, """
                lowers 1
                L1 dir . 0755 0:0 1056161031.197767275
                L1 file b 0644 0:0 1170571035.138176330 size=186282 seed=296223 sparse
                --
                chmod b 0777
                """, "timeout=0",
                "upper/holes: b: holes: kernel dense, layerfs sparse;");
    }

    /** Allowed.FSTAT_OF_A_NAMELESS_NODE: FUSE never opens a fifo, so libfuse cannot hide it at unlink. */
    @Test
    void fstatOfAnUnlinkedOpenFifo() {
        Scenario.assertExcused(Allowed.FSTAT_OF_A_NAMELESS_NODE, """
                lowers 1 aufs 1
                U dir . 0711 0:0 1414506618.647639686
                U fifo a 0644 0:65534 1010976495.686397434
                L1 dir . 1777 0:0 1225234215.679901067
                --
                open 0 a RDWR|TRUNC 0000
                unlink a
                fstat 0
                """, "timeout=0",
                "op/fstat: op 3 `fstat 0`: kernel p 0644 0:65534 size=0 nlink=0 mtime=1010976495.686397434, layerfs"
                        + " ENOENT");
    }

    /**
     * Allowed.FSTAT_OF_A_NAMELESS_NODE, found by the long campaign (seed 6, twice): the fifo's name moved before it
     * was removed, and the excuse followed only the name it was opened at.
     */
    @Test
    void fstatOfAnOpenFifoRenamedThenUnlinked() {
        Scenario.assertExcused(Allowed.FSTAT_OF_A_NAMELESS_NODE, """
                lowers 1
                L1 dir . 0755 0:0 1366870084.724176673
                L1 fifo a 0644 0:0 1417965186.309679158
                --
                open 0 a RDWR 1777
                rename a e 0
                unlink e
                fstat 0
                """, "timeout=0",
                "op/fstat: op 4 `fstat 0`: kernel p 0644 0:0 size=0 nlink=0 mtime=1417965186.309679158, layerfs"
                        + " ENOENT");
    }

    /** Allowed.FSTAT_OF_A_NAMELESS_NODE: libfuse hid the file in a directory that is gone; I/O still works. */
    @Test
    void fstatAfterItsDirectoryWasRemoved() {
        String seq = """
                lowers 1
                L1 dir . 0755 0:0 1436753646.850903782
                L1 dir e 0755 0:0 1049621002.020753175
                --
                open 1 e/d RDWR|CREAT 0644
                write 1 0 10 5
                unlink e/d
                rmdir e
                read 1 0 10
                fstat 1
                """;
        // On the kernel transport (one kernel inode per object) the difference is gone.
        if (Transports.kernel()) {
            Scenario.assertAgree(seq, "timeout=0");
            return;
        }
        Scenario.assertExcused(Allowed.FSTAT_OF_A_NAMELESS_NODE, seq, "timeout=0",
                "op/read: op 5 `read 1 0 10`: kernel ok 10 45251aad1817 links=0, layerfs ok 10 45251aad1817"
                        + " links=ENOENT",
                "op/fstat: op 6 `fstat 1`: kernel f 0644 0:0 size=10 nlink=0 mtime=new, layerfs ENOENT");
    }

    /** Allowed.OPAQUE_SET_BY_A_FAILED_RENAME, on a directory with xattrs of its own. */
    @Test
    void failedRenameLeavesTheSourceOpaqueOnTheKernelOnlyBesideItsXattrs() {
        Scenario.assertExcused(Allowed.OPAQUE_SET_BY_A_FAILED_RENAME, """
                lowers 1
                U dir . 2775 1001:1000 1145808372.003434518
                U dir e 0555 0:1001 1063908098.315751055
                U dir e/a 0700 0:65534 1002574326.828217041
                U file e/a/a 4755 0:0 1494655382.613801469 size=99 seed=549924
                L1 dir . 0700 0:0 1180139593.343540496
                --
                setxattr e/a user.b =w79 0
                mkdir b 1777
                link e/a/a b/m
                rename e/a b 0
                """, "timeout=0",
                "upper/xattrs: e/a: xattrs: kernel {trusted.overlay.opaque=y, user.b=w79}, layerfs {user.b=w79};");
    }

    /** Allowed.FIFO_PER_NAME: a reader through one name of a fifo, a writer through the other. */
    @Test
    void fifoReaderThroughAnotherName() {
        String seq = """
                lowers 1
                L1 dir . 0755 0:0 1164529373.202137195
                L1 fifo f 0644 0:0 1215184738.876101761
                --
                link f g
                open 0 g RDWR 0000
                open - f WRONLY 0444
                open 1 f WRONLY 0444
                fstat 1
                """;
        // On the kernel transport (one kernel inode per object) the difference is gone.
        if (Transports.kernel()) {
            Scenario.assertAgree(seq, "timeout=0");
            return;
        }
        Scenario.assertExcused(Allowed.FIFO_PER_NAME, seq, "timeout=0",
                "op/open: op 3 `open - f WRONLY 0444`: kernel ok ino=kept, layerfs ENXIO",
                "op/open: op 4 `open 1 f WRONLY 0444`: kernel ok ino=kept, layerfs ENXIO",
                "op/fstat: op 5 `fstat 1`: kernel p 0644 0:0 size=0 nlink=2 mtime=1215184738.876101761, layerfs"
                        + " EBADF");
    }

    /**
     * Allowed.FAILED_RENAME_TOUCHES_THE_PARENT: the upper file system's whiteout for a rename that then fails
     * (and the opaque marker of OPAQUE_SET_BY_A_FAILED_RENAME).
     */
    @Test
    void failedRenameTouchesTheParentOnTheKernelOnly() {
        Scenario.assertExcused(java.util.Set.of(Allowed.FAILED_RENAME_TOUCHES_THE_PARENT,
                Allowed.OPAQUE_SET_BY_A_FAILED_RENAME), """
                lowers 1
                U dir . 0755 0:0 1438171465.614971045
                U dir a 0755 0:0 1077245134.781040221
                U dir a/d 1777 0:0 1237884288.228292975 opaque
                U dir d 0755 0:0 1474184724.066510469
                L1 dir . 0555 1000:65534 1119178626.681919780
                L1 link d 0:0 1171879212.639494437 -> missing
                --
                rename d a 0
                """, "timeout=0",
                "merged/mtime: .: mtime: kernel new, layerfs 1438171465.614971045;",
                "upper/mtime: .: mtime: kernel new, layerfs 1438171465.614971045;",
                "cross-kernel/mtime: .: mtime: kernel new, layerfs 1438171465.614971045;",
                "upper/xattrs: d: xattrs: kernel {trusted.overlay.opaque=y}, layerfs {};");
    }

    /**
     * The same difference seen by a stat right after the failed rename rather than in the trees. Shrunk by the
     * differential fuzzer from sequence seed 2046004235139231970 (seed 7708, profile long, the four kernel features):
     * with redirect_dir the kernel renames the lower directory a/b with RENAME_WHITEOUT, which changes a's mtime,
     * before it finds d/c not empty.
     */
    @Test
    void failedRenameTouchesTheParentSeenByAStat() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Transports.kernel(), "through libfuse 2 the same failed rename"
                + " also shows in a/b's link count (lower 2, where the kernel shows its copied-up directory's 1);"
                + " the four features are compared on the kernel transport");
        Scenario.assertExcusedBoth(java.util.Set.of(Allowed.FAILED_RENAME_TOUCHES_THE_PARENT), """
                lowers 1
                U dir . 0755 0:0 1210154493.514950035
                U dir d 0755 0:0 1232565670.272460771
                U dir d/c 0755 0:0 1058274322.474124816
                U file d/c/b 0644 0:0 1272122183.744385967 size=3 seed=884783
                L1 dir . 0755 0:0 1184021489.388418216
                L1 dir a 0755 0:0 1281875541.519912354
                L1 dir a/b 0755 0:0 1421510925.122216508
                --
                rename a/b d/c 0
                stat a
                """, ALL_FOUR, ALL_FOUR,
                "op/stat: op 2 `stat a`: kernel d 0755 0:0 nlink=1 mtime=new, layerfs d 0755 0:0 nlink=1"
                        + " mtime=1281875541.519912354",
                "merged/mtime: a: mtime: kernel new, layerfs 1281875541.519912354;",
                "upper/mtime: a: mtime: kernel new, layerfs 1281875541.519912354;",
                "cross-kernel/mtime: a: mtime: kernel new, layerfs 1281875541.519912354;");
    }

    /**
     * Found by the long campaign (seed 5). The snapshot before the sequence reads every file, so the kernel caches
     * b/d/d's pages in the FUSE inode of that name; a truncate through b/d/b reaches another FUSE inode (one per
     * name), and a read through the descriptor opened at b/d/d, below the size that inode still cached, was served
     * from its stale pages without asking layerfs. Fixed by FUSE_AUTO_INVAL_DATA in the INIT reply (FuseSession):
     * the read asks for fresh attributes, sees the new size and mtime, and drops the pages.
     */
    @Test
    void readPastTheEndAfterATruncateThroughTheOtherName() {
        Scenario.assertAgree("""
                lowers 1
                U dir . 0755 0:0 1266222951.283094705
                U dir b 0755 0:0 1395939210.447330647
                U dir b/d 0755 0:0 1171007771.874541234
                U file b/d/b 0644 0:0 1351985522.458941356 size=320902 seed=995146
                U hard b/d/d -> b/d/b
                L1 dir . 0755 0:0 1407694132.601224798
                --
                open 2 b/d/d RDWR 0444
                truncate b/d/b 96
                read 2 63976 63
                """, "timeout=0");
    }

    /** The same with a write: the descriptor at one name reads what was written through the other. */
    @Test
    void readAfterAWriteThroughTheOtherName() {
        Scenario.assertAgree("""
                lowers 1
                U dir . 0755 0:0 1266222951.283094705
                U file a 0644 0:0 1351985522.458941356 size=70000 seed=11
                U hard b -> a
                L1 dir . 0755 0:0 1407694132.601224798
                --
                open 1 a RDONLY 0644
                open 2 b WRONLY 0644
                write 2 4000 100 77
                read 1 3990 200
                """, "timeout=0");
    }

    /**
     * Allowed.OPAQUE_SET_BY_A_FAILED_RENAME through a link to the directory (issue 14): the source {@code b/n} is
     * {@code n}, and the excuse must match the object the path resolves to, not the name as written.
     */
    @Test
    void failedRenameThroughALinkToTheDirectoryLeavesTheSourceOpaqueOnTheKernelOnly() {
        Scenario.assertExcused(Allowed.OPAQUE_SET_BY_A_FAILED_RENAME, """
                lowers 1
                U dir . 0755 0:0 1279865114.768913841
                U link b 0:0 1371362738.175709126 -> .
                U dir e 0755 0:0 1371362738.175709126
                L1 dir . 0755 0:0 1367113082.392763641
                --
                mkdir b/n 0755
                mkfifo e/o 0644
                rename b/n e 0
                """, "timeout=0",
                "upper/xattrs: n: xattrs: kernel {trusted.overlay.opaque=y}, layerfs {};");
    }

    /**
     * Fixed (issue 14, item 4): a directory in a hand-made upper layer over a lower one (no origin on it, no impure
     * mark on its parent) is listed by the kernel with the upper directory's number until a lookup records its
     * origin and marks the parent impure (ovl_fix_origin); layerfs listed the lower one's throughout. It now
     * records the origin at lookup as the kernel does.
     */
    @Test
    void dInoOfAMergedDirectoryInAHandMadeUpperLayer() {
        Scenario.assertAgree("""
                lowers 1
                U dir . 0755 0:0 1253910537.079320862
                L1 dir . 0755 0:0 1025711956.573123765
                U dir b%{155}64 0755 0:0 1196584292.135810049
                L1 dir b%{155}64 0755 0:0 1286956580.316617887
                --
                readdir .
                stat b%{155}64
                readdir .
                """, "timeout=0");
    }

    // ---- issue 14: what the generator learnt found these, fixed by the engine's byte paths ----

    /** Fixed (issue 14, item 4): a copy-up gave a file the upper file's inode number; the kernel keeps the lower's. */
    @Test
    void chmodKeepsTheLowerInodeNumber() {
        Scenario.assertAgree("""
                lowers 1
                L1 dir . 0755 0:0 1100000000.000000001
                L1 file a 0644 0:0 1100000000.000000002 size=3 seed=1
                --
                chmod a 0600
                """, "timeout=0");
    }

    /** Fixed (issue 14, item 4): after a directory's copy-up, layerfs listed it with the upper directory's number. */
    @Test
    void dInoIsStInoAfterACopyUp() {
        Scenario.assertAgree("""
                lowers 1
                L1 dir . 0755 0:0 1100000000.000000001
                L1 dir b 0755 0:0 1100000000.000000002
                L1 file b/a 0644 0:0 1100000000.000000003 size=3 seed=1
                --
                chmod b 0700
                readdir .
                """, "timeout=0");
    }

    /**
     * Fixed (issue 14, item 4), found by the bounded campaign's sequences in the full profile once the engine's
     * inode numbers landed (14 of 1,500, shrunk from seed 8285695372988048899): the directory a link of a lower
     * file lands in was not marked impure, so layerfs listed the new name with the upper file's number.
     */
    @Test
    void dInoOfANewLinkToALowerFile() {
        Scenario.assertAgree("""
                lowers 1
                L1 dir . 0755 0:0 1390279601.932538585
                L1 file e 0644 0:0 1440751522.435072825 size=64 seed=90882
                L1 dir a 0755 0:0 1042467342.872451678
                --
                link e a/n
                readdir a
                """, "timeout=0");
    }

    /** Fixed (issue 14, item 1): names that are not UTF-8 became U+FFFD, so 0x80 and 0xff were one name. */
    @Test
    void namesThatAreNotUtf8StayApart() {
        Scenario.assertAgree("""
                lowers 1
                L1 dir . 0755 0:0 1100000000.000000001
                L1 file %80 0644 0:0 1100000000.000000002 size=3 seed=1
                L1 dir %{200}FF 0755 0:0 1100000000.000000003
                --
                open - %FF RDWR|CREAT|EXCL 0644
                readdir .
                mkdir %{200}FF/%E9t%E9 0755
                symlink %C0%AF%80 %FF/%C3
                """, "timeout=0");
    }

    /**
     * Names of NAME_MAX (255) bytes work, and of one byte more are ENAMETOOLONG, as on the kernel overlay, for a
     * lookup, a create, a mkdir, a rename, a link and a symlink, below a chain of NAME_MAX components (FUSE passes
     * names up to 1,024 bytes, so the answer is layerfs's). The fuzzer's deep tree makes both lengths.
     */
    @Test
    void nameMaxAndOneByteMore() {
        String dir = chainPath(3, 255, 255);
        String max = dir + "/n%{254}78";
        String over = dir + "/n%{255}78";
        Scenario.assertAgree(deepChain("L1", 3, 255, 255) + """
                L1 file %1$s/f 0644 0:0 1100000000.000000003 size=5 seed=1
                --
                stat %3$s
                open - %3$s CREAT|WRONLY 0644
                mkdir %3$s 0755
                rename %1$s/f %3$s 0
                link %1$s/f %3$s
                symlink f %3$s
                open - %2$s CREAT|WRONLY 0644
                stat %2$s
                rename %2$s %3$s 0
                unlink %2$s
                mkdir %2$s 0755
                rename %2$s %1$s/d 0
                readdir %1$s
                """.formatted(dir, max, over));
    }

    /**
     * Fixed (issue 14, item 2): a mkdir and a chmod (copying up 16 directories) at paths just under PATH_MAX from
     * the mount root gave ENAMETOOLONG; layerfs reached the layer by a longer path (/proc/self/fd/N/...).
     */
    @Test
    void mkdirAtPathMax() {
        Scenario.assertAgree(deepChain("L1", 15, 255, 240) + """
                --
                mkdir %s/n%%{9}78 0755
                chmod %s 0700
                """.formatted(chainPath(15, 255, 240), chainPath(15, 255, 240)), "timeout=0");
    }

    /**
     * Fixed (issue 14, item 3): aligned reads and writes of 4,096 bytes and more through O_DIRECT descriptors
     * gave EINVAL (libfuse's buffers are not aligned).
     */
    @Test
    void alignedDirectIo() {
        Scenario.assertAgree("""
                lowers 1
                L1 dir . 0755 0:0 1100000000.000000001
                L1 file a 0644 0:0 1100000000.000000002 size=16384 seed=1
                --
                open 0 a RDWR|DIRECT 0644
                dwrite 0 4096 8192 7 0
                dread 0 0 16384 0
                open 1 f WRONLY|CREAT|DIRECT 0644
                dwrite 1 0 4096 8 0
                """, "timeout=0");
    }

    /** Fixed (issue 14, item 5): a character device made through the mount gave EACCES (layerfs had nodev). */
    @Test
    void aCharacterDeviceMadeThroughTheMountOpens() {
        Scenario.assertAgree("""
                lowers 1
                L1 dir . 0755 0:0 1100000000.000000001
                --
                mknod c 0666 chr
                open - c RDWR 0644
                """, "timeout=0");
    }

    /** All four of the kernel's features on, as issue 13's campaign mounts both sides. */
    private static final String ALL_FOUR = "redirect_dir=on,index=on,xino=on,metacopy=on";

    /**
     * Fixed (issue 13): a chmod made a metadata-only copy of a file open read-only on its lower data, then the
     * name was removed; fstat showed the lower file (old mode, nlink 1) where the kernel shows its overlay inode,
     * the metadata-only copy (new mode, nlink 0). Shrunk from seed 5201958298738045916 (profile long, all four).
     */
    @Test
    void fstatAfterAMetadataOnlyCopyUpAndUnlinkShowsTheCopy() {
        Scenario.assertAgreeBoth("""
                lowers 1
                L1 dir . 0755 0:0 1205525252.312524065
                L1 file e 0644 0:0 1115918758.240312469 size=3 seed=347698
                --
                open 2 e RDONLY 0644
                chmod e 0700
                unlink e
                fstat 2
                """, ALL_FOUR, ALL_FOUR);
    }

    /**
     * Fixed (issue 13): as above, the metadata-only copy made by a rename (its link count after the unlink).
     * Shrunk from seed 4154959370467656175 (profile long, all four).
     */
    @Test
    void readAfterAMetadataOnlyRenameAndUnlinkShowsNoLinks() {
        Scenario.assertAgreeBoth("""
                lowers 2
                L1 dir . 0755 0:0 1353299123.963677614
                L1 dir b 0755 0:0 1232316247.318146968
                L1 file b/d 0644 0:0 1186374367.709912498 size=0 seed=300093
                L2 dir . 0755 0:0 1332430802.047286244
                L2 dir d 0755 0:0 1343138720.085308135
                --
                open 0 b/d RDONLY 0444
                rename b/d d/n 0
                unlink d/n
                read 0 38571 0
                """, ALL_FOUR, ALL_FOUR);
    }

    /** Why the two index=on tests below are the kernel transport's: libfuse 2 has no node to tell. */
    private static final String LIBFUSE2_INDEXED_NAMES = "through libfuse 2 the other names of an indexed lower hard"
            + " link see a change once their attributes expire (Allowed.INDEXED_HARD_LINK_NAMES_CACHED_APART)";

    /**
     * Fixed (issue 13): with index=on, a copy-up through one name of a lower hard link (a truncate, the data of a
     * metadata-only copy, a chmod's metadata-only copy, the copy-up an unlink makes to count links) changes what
     * the other names show; the kernel transport now tells the kernel of every node with the object's inode
     * number, not only the name's. Shrunk from seeds 532872525150402735, 4791353584987660744 and
     * 6458547951147466221 (profile long, all four), with the default attribute timeout.
     */
    @Test
    void indexedCopyUpIsSeenThroughTheOtherNames() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Transports.kernel(), LIBFUSE2_INDEXED_NAMES);
        String stack = """
                lowers 1
                L1 dir . 0755 0:0 1353890085.564043664
                L1 file a 0644 0:0 1279472465.009493189 size=66 seed=646386
                L1 hard b -> a
                --
                """;
        Scenario.assertAgreeBoth(stack + "truncate a 0\ncat b\n", ALL_FOUR, ALL_FOUR);
        Scenario.assertAgreeBoth(stack + "link b n\nopen - a RDWR 0600\nstat b\n", ALL_FOUR, ALL_FOUR);
        Scenario.assertAgreeBoth(stack + "stat b\nunlink a\nstat b\n", ALL_FOUR, ALL_FOUR);
        Scenario.assertAgreeBoth(stack + "stat b\nchmod a 0600\nstat b\n", ALL_FOUR, ALL_FOUR);
    }

    /**
     * Fixed (issue 13): with index=on, a truncate (or chmod, chown, utimens, link, unlink) through a name of a
     * lower hard link already copied up changes what its other names, not yet copied up, show (size, pages):
     * the kernel transport tells the kernel of every node with the object's inode number. Shrunk from seed
     * 2642407962223980216 (profile long, all four).
     */
    @Test
    void changeThroughACopiedUpNameIsSeenThroughTheOthers() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Transports.kernel(), LIBFUSE2_INDEXED_NAMES);
        Scenario.assertAgreeBoth("""
                lowers 1
                L1 dir . 0755 0:0 1158307341.268023084
                L1 file e 0644 0:0 1337664067.954127653 size=3 seed=676739
                L1 hard x -> e
                --
                open - x WRONLY 0644
                readdir .
                truncate x 0
                """, ALL_FOUR, ALL_FOUR);
        Scenario.assertAgreeBoth("""
                lowers 1
                L1 dir . 0755 0:0 1158307341.268023084
                L1 file e 0644 0:0 1337664067.954127653 size=3 seed=676739
                L1 hard x -> e
                --
                chmod x 0600
                stat e
                chmod x 0640
                stat e
                """, ALL_FOUR, ALL_FOUR);
    }

    /**
     * Fixed (issue 13): with index=on, renameat2(RENAME_WHITEOUT) between two names of a lower hard link is answered
     * 0 by the kernel overlay's VFS before the file system is asked (one inode: source == target); the kernel
     * transport answered EINVAL (the engine makes no whiteouts for clients), since through FUSE the names are
     * nodes of their own. Shrunk from seed 4515849939992020312 (profile long, all four). The kernel then moves the
     * source's dentry onto the target's name: a truncate of the target must still copy up the target's name, not
     * the source's (found replaying that seed once the rename answered 0).
     */
    @Test
    void renameWhiteoutBetweenIndexedNamesIsANoOp() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Transports.kernel(),
                "libfuse 2 has no rename2: Allowed.RENAME2_FLAGS");
        Scenario.assertAgreeBoth("""
                lowers 1
                L1 dir . 0755 0:0 1127242478.559265774
                L1 file a 0644 0:0 1420484227.379859067 size=3 seed=406358
                L1 hard c -> a
                --
                rename c a WHITEOUT
                stat c
                truncate a 33346
                stat c
                """, ALL_FOUR, ALL_FOUR);
    }

    /**
     * Fixed (issue 13): with index=on, a write (O_DIRECT here) through the descriptor of one name of a lower hard
     * link, that name removed since, changes what the other name shows (size, mtime) at once on the kernel
     * overlay; the kernel transport passed the file through (the kernel wrote it without a request) and the other
     * name's node kept its attributes until they expired. Such files are now served on index=on mounts, and each
     * write is told to the other nodes of the inode. Shrunk from seed 453807707996679297 (profile long, all four),
     * with the default attribute timeout.
     */
    @Test
    void writeThroughAnUnlinkedIndexedNameIsSeenThroughTheOther() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Transports.kernel(), LIBFUSE2_INDEXED_NAMES);
        Scenario.assertAgreeBoth("""
                lowers 1
                L1 dir . 0755 0:0 1334229734.925226088
                L1 dir e 0755 0:0 1439099193.839159659
                L1 file e/c 0644 0:0 1363599972.733566786 size=77 seed=490807
                L1 hard a -> e/c
                --
                open 0 e/c RDWR 0000
                unlink e/c
                dwrite 0 929792 4096 459508 0
                stat a
                write 0 12 100 7
                stat a
                cat a
                """, ALL_FOUR, ALL_FOUR);
    }

    /**
     * Fixed (issue 13): with index=on, a rename onto one name of a lower hard link removes that name; the other
     * name shows one link fewer at once on the kernel overlay, where the kernel transport told the kernel of the
     * other nodes after an unlink but not after a rename that replaced a name. Found by the 10,000-sequence
     * campaign (seed 4244, sequence seed 1093679391126124874), with the default attribute timeout.
     */
    @Test
    void renameOntoAnIndexedNameIsSeenThroughTheOther() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Transports.kernel(), LIBFUSE2_INDEXED_NAMES);
        Scenario.assertAgreeBoth("""
                lowers 1
                L1 dir . 0755 0:0 1474768852.746563336
                L1 file b 0644 0:0 1233192343.399052309 size=3 seed=72120
                L1 file c 0644 0:0 1165734263.078486293 size=3 seed=61193
                L1 hard a -> b
                --
                rename b b/n 0
                rename c a 0
                cat b
                stat b
                """, ALL_FOUR, ALL_FOUR);
    }

    /**
     * Fixed (issue 13): with index=on, a file open read-only on one name of a lower hard link of three names, that
     * name then removed: the unlink copies the object up to the index (to count its links) and the open file moves
     * to it, where its only real link is the index's; fstat showed that (1) where the kernel shows the overlay's
     * count, 2. Found by the 10,000-sequence campaign (seed 4244, sequence seed 750885158588507514).
     */
    @Test
    void anOpenFileMovedToItsIndexEntryShowsTheOverlaysLinkCount() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Transports.kernel(), "through libfuse 2 an fstat after the"
                + " unlink is answered for a name, not for the open file (Allowed.FSTAT_OF_A_NAMELESS_NODE)");
        Scenario.assertAgreeBoth("""
                lowers 1
                L1 dir . 0755 0:0 1383897123.254767691
                L1 dir d 0755 0:0 1020880789.725470710
                L1 dir d/b 0755 0:0 1394633562.029487181
                L1 file d/b/x 0644 0:0 1282583430.762496724 size=22 seed=740940
                L1 hard d/b/c -> d/b/x
                L1 dir d/e 0755 0:0 1176621017.416918368
                L1 hard d/e/y -> d/b/x
                --
                open 0 d/e/y RDONLY 4755
                unlink d/e/y
                read 0 0 3963
                fstat 0
                """, ALL_FOUR, ALL_FOUR);
    }

    /**
     * Fixed (issue 13): a file opened read-only on the lower data of a metadata-only copy made before the open,
     * then unlinked: fstat showed the lower file (old mode, nlink 1) where the kernel shows its overlay inode, the
     * copy (its mode, nlink 0). Shrunk from seed 4406996270536035956 (profile long, all four).
     */
    @Test
    void fstatOfAFileOpenedOnAMetadataOnlyCopyAfterUnlinkShowsTheCopy() {
        Scenario.assertAgreeBoth("""
                lowers 1
                L1 dir . 0755 0:0 1323214534.044282962
                L1 file b 0644 0:0 1127777030.138157823 size=0 seed=835433
                --
                chmod b 0444
                open 2 b RDONLY 4755
                unlink b
                fstat 2
                """, ALL_FOUR, ALL_FOUR);
    }

    /**
     * Fixed (issue 13): with index=on, a rename between two names of one lower hard link, one of them already a
     * name of its upper copy, does nothing on the kernel overlay (one inode: source == target), so the target's
     * name is still not linked up and the open for writing links it up. Through FUSE the names are nodes of their
     * own, and the kernel moved the source's dentry (a name already upper) onto the target's name. Shrunk by the
     * differential fuzzer from sequence seed 6427000089747369953 (seed 78, profile long, metacopy, redirect_dir,
     * index).
     */
    @Test
    void fuzz_upper_missing_59314a87a8cbafe1() {
        Scenario.assertAgreeBoth("""
                lowers 1
                L1 dir . 0755 0:0 1210050428.612606312
                L1 dir c 0755 0:0 1469452721.423330145
                L1 file c/b 0644 0:0 1465926104.092771789 size=35 seed=530549
                L1 hard c/d -> c/b
                --
                link c/d o
                rename o c/b 0
                open - c/b WRONLY 4755
                """, INDEX_METACOPY, indexedNamesUncached());
    }

    /**
     * With index=on the names of a lower hard link are one inode on the kernel overlay, so a rename between two of
     * them, copied up or not, does nothing: both names stay, and each is copied up (linked to the index) by the
     * first write through it, not through the other. Each sequence renames, then writes through each name in
     * turn and looks at the other.
     */
    @Test
    void renameBetweenIndexedNamesLeavesEachName() {
        String stack = """
                lowers 1
                L1 dir . 0755 0:0 1300000000.000000001
                L1 dir d 0755 0:0 1300000000.000000002
                L1 file d/a 0644 0:0 1300000000.000000003 size=20 seed=11
                L1 hard b -> d/a
                --
                """;
        String writeEach = """
                open 0 b WRONLY 0644
                write 0 3 5 7
                stat d/a
                open 1 d/a RDWR 0644
                write 1 0 4 9
                stat b
                cat b
                cat d/a
                """;
        String writeEachOtherFirst = """
                truncate d/a 7
                stat b
                open 0 b RDWR 0644
                write 0 30 2 5
                stat d/a
                cat d/a
                """;
        java.util.List<String> renames = new java.util.ArrayList<>(java.util.List.of("rename d/a b 0",
                "rename b d/a 0"));
        if (Transports.kernel()) {
            // libfuse 2 has no rename2 (Allowed.RENAME2_FLAGS).
            renames.addAll(java.util.List.of("rename d/a b EXCHANGE", "rename b d/a EXCHANGE",
                    "rename d/a b WHITEOUT"));
        }
        for (String rename : renames) {
            for (String before : java.util.List.of("", "chmod d/a 0600\n", "chmod b 0600\n", "link b n\n",
                    "link d/a d/n\nunlink d/n\n")) {
                Scenario.assertAgreeBoth(stack + before + rename + "\n" + writeEach, INDEX_METACOPY,
                        indexedNamesUncached());
                Scenario.assertAgreeBoth(stack + before + rename + "\n" + writeEachOtherFirst, INDEX_METACOPY,
                        indexedNamesUncached());
            }
        }
    }

    /**
     * As above, between a name made through the mount (linked to the index, so already upper) and a name not
     * copied up yet, in both directions and across directories, then an open for writing of each name.
     */
    @Test
    void renameBetweenAnUpperAndALowerIndexedNameLeavesEachName() {
        String stack = """
                lowers 1
                L1 dir . 0755 0:0 1300000000.000000001
                L1 dir c 0755 0:0 1300000000.000000002
                L1 file c/b 0644 0:0 1300000000.000000003 size=35 seed=530549
                L1 hard c/d -> c/b
                --
                link c/d o
                """;
        for (String rename : java.util.List.of("rename o c/b 0", "rename c/b o 0", "rename o c/d 0",
                "rename c/d c/b 0")) {
            Scenario.assertAgreeBoth(stack + rename + """

                    open - c/b WRONLY 0644
                    stat o
                    open 0 c/d RDWR 0644
                    write 0 1 3 4
                    stat c/b
                    stat o
                    """, INDEX_METACOPY, indexedNamesUncached());
        }
    }

    /** The options of the campaign that found the case above (seed 78). */
    private static final String INDEX_METACOPY = "metacopy=on,redirect_dir=on,index=on";

    /**
     * {@link #INDEX_METACOPY} for layerfs; through libfuse 2 with no attribute timeout, as there the other names
     * of an indexed lower hard link see a change only once their attributes expire
     * (Allowed.INDEXED_HARD_LINK_NAMES_CACHED_APART).
     */
    private static String indexedNamesUncached() {
        return Transports.kernel() ? INDEX_METACOPY : INDEX_METACOPY + ",timeout=0";
    }

    /**
     * Fixed: chown(path, -1, -1) by a user who neither owns a setuid file nor may write it is refused with EPERM
     * (taking setuid is a change of mode). With HANDLE_KILLPRIV_V2 the kernel sends layerfs a SETATTR that changes
     * nothing, which layerfs answered as the daemon's own chown(-1, -1), taking the bit. Shrunk by the
     * differential fuzzer from sequence seed 6120240387938542861 (seed 7710, profile long).
     */
    @Test
    void fuzz_op_lchown_54ef7634d713650d() {
        Scenario.assertAgree("""
                lowers 1
                L1 dir . 0755 0:0 1294393552.417586935
                L1 file c 0644 0:0 1110623717.014917890 size=3 seed=516621
                --
                chmod c 4755
                as 65534 lchown c -1 -1
                """);
    }

    /**
     * Fixed: chown(path, -1, -1) of a setuid fifo by a user who does not own it is refused with EPERM whatever that
     * user may write (only a regular file is written through the daemon, so the SETATTR that changes nothing is a
     * chown there); layerfs took the bit. Shrunk by the differential fuzzer from sequence seed 8981214414815586066
     * (seed 7711, profile long).
     */
    @Test
    void fuzz_op_chown_7ca3aeecfeb36712() {
        Scenario.assertAgree("""
                lowers 1
                L1 dir . 0755 0:0 1156765200.943589959
                L1 dir c 0755 0:0 1131541866.717828308
                --
                mkfifo c/m 4755
                rename c/m c/a 0
                as 65534 chown c/a -1 -1
                """);
    }

    /**
     * The same rule on a fifo its owner chowns: setuid goes, and setgid without group execution where the owner
     * is outside the file's group, as from a regular file (the kernel's chown takes them from any file but a
     * directory); a writable fifo of someone else's keeps both and says EPERM. Through libfuse 2 the owner outside
     * the group keeps setgid without group execution, from any file (README, "How layerfs differs").
     */
    @Test
    void chownOfAFifoTakesWhatItTakesFromAFile() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Transports.kernel(),
                "through libfuse 2 setgid without group execution stays (README, 'How layerfs differs')");
        Scenario.assertAgree("""
                lowers 1
                L1 dir . 0777 0:0 1156765200.943589959
                L1 dir c 0777 0:0 1131541866.717828308
                --
                mkfifo c/m 0755
                chown c/m 2000 3000
                chmod c/m 6755
                as 2000 chown c/m -1 -1
                mkfifo c/n 0745
                chown c/n 2000 3000
                chmod c/n 2745
                as 2000 chown c/n -1 -1
                mkfifo c/w 6777
                as 2000 chown c/w -1 -1
                """);
    }

    /**
     * The stack lines of a chain of directories in one layer: {@code count} components of {@code len} bytes, the
     * last of {@code lastLen} ('a' and then 'd's), below a sequence directory.
     */
    private static String deepChain(String layer, int count, int len, int lastLen) {
        StringBuilder b = new StringBuilder("lowers 1\n" + layer + " dir . 0755 0:0 1100000000.000000001\n");
        for (int i = 1; i <= count + 1; i++) {
            b.append(layer).append(" dir ").append(chainPath(i - 1, len, i == count + 1 ? lastLen : len))
                    .append(" 0755 0:0 1100000000.000000002\n");
        }
        return b.toString();
    }

    /** The text form of the path of {@code count} components of {@code len} bytes and one of {@code lastLen}. */
    private static String chainPath(int count, int len, int lastLen) {
        String c = "a%{" + (len - 1) + "}64";
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < count; i++) {
            b.append(c).append('/');
        }
        return b.append("a%{").append(lastLen - 1).append("}64").toString();
    }
}
