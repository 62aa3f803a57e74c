package dev.layerfs.it.fuzz;

import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;

/**
 * Divergences the differential fuzzer found, shrunk to minimal sequences: each is a permanent test. A test marked
 * {@code @Disabled("BUG: ...")} reproduces an open layerfs bug (with a TEMPORARY entry in {@link Allowed}); when
 * the bug is fixed, remove the @Disabled and the TEMPORARY entry.
 */
class DifferentialFuzzRegressionTest {
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

    @Test
    @Disabled("BUG: read/write/fstat/ftruncate on a descriptor whose name was unlinked fail with ENOENT (libfuse 2"
            + " high-level API without flag_nullpath_ok); Allowed.UNLINKED_OPEN_FILE_IO")
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

    @Test
    @Disabled("BUG: utimensat with UTIME_OMIT for one time changes nothing (no copy-up, mtime kept);"
            + " Allowed.PARTIAL_UTIMENS")
    void utimensWithOmitChangesNothing() {
        Scenario.assertAgree("""
                lowers 1
                L1 dir . 0755 0:0 1045393767.649926376
                L1 dir c 0755 0:0 1113258250.887898971
                --
                lutimens c OMIT 1146816397.397683285
                """);
    }

    @Test
    @Disabled("BUG: utimensat with UTIME_NOW for one time and UTIME_OMIT for the other changes nothing;"
            + " Allowed.PARTIAL_UTIMENS")
    void utimensNowOmitOnALowerFifo() {
        Scenario.assertAgree("""
                lowers 1
                L1 dir . 0755 0:0 1132940793.178045170
                L1 fifo d 0644 0:0 1179094705.612893212
                --
                lutimens d NOW OMIT
                """);
    }

    @Test
    @Disabled("BUG: open(O_TRUNC) by the unprivileged owner keeps the setuid bit; Allowed.OTRUNC_KEEPS_SETUID")
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

    @Test
    @Disabled("BUG: chown(-1, -1) does not copy up as the kernel does (libfuse 2 drops the empty SETATTR);"
            + " Allowed.CHOWN_WITHOUT_CHANGE")
    void chownToMinusOneCopiesUp() {
        Scenario.assertAgree("""
                lowers 1
                L1 dir . 0755 0:0 1025216548.399479958
                L1 file a 0644 0:0 1446169753.345058138 size=37 seed=635652
                --
                chown a -1 -1
                """);
    }

    @Test
    @Disabled("BUG: with the default timeout=1, a truncate through one hard-linked name is not seen through the"
            + " other (attributes cached per name); Allowed.FUSE_ATTRIBUTE_CACHE")
    void hardLinkedNameSeesTruncateThroughTheOther() {
        Scenario.assertAgree("""
                lowers 1
                U dir . 0755 0:0 1152613264.068628319
                U file d 0644 0:0 1216998933.479420972 size=0 seed=979694
                U hard e -> d
                L1 dir . 0755 0:0 1102630762.467921371
                --
                truncate e 19
                """);
    }

    @Test
    @Disabled("BUG: with the default timeout=1, an lchown through one hard-linked name is not seen through the"
            + " other; Allowed.FUSE_ATTRIBUTE_CACHE")
    void chownThroughOneHardLinkName() {
        Scenario.assertAgree("""
                lowers 1
                L1 dir . 0755 0:0 1498205962.161854562
                L1 fifo e 0644 0:0 1218989534.449852475
                --
                link e m
                lchown e 0 65534
                """);
    }

    @Test
    @Disabled("BUG: with the default timeout=1, a directory's link count stays its lower one (2) after a copy-up"
            + " inside it made it merged (1); Allowed.FUSE_ATTRIBUTE_CACHE")
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
                """);
    }

    @Test
    @Disabled("BUG or a difference to document: the kernel marks the source directory opaque before the rename"
            + " fails with ENOTEMPTY; layerfs does not. Allowed.OPAQUE_SET_BY_A_FAILED_RENAME")
    void failedRenameLeavesTheSourceOpaque() {
        Scenario.assertAgree("""
                lowers 1
                U dir . 0755 0:0 1279865114.768913841
                U dir b 0755 0:0 1371362738.175709126
                L1 dir . 0755 0:0 1367113082.392763641
                --
                mkdir m 0600
                mkdir b/b 0000
                rename m b 0
                """);
    }

    @Test
    @Disabled("BUG or a difference to document: rmdir of a pure-upper directory holding only a stale whiteout:"
            + " kernel ENOTEMPTY, layerfs removes it. Allowed.RMDIR_WITH_STALE_WHITEOUTS")
    void rmdirOfAPureUpperDirectoryHoldingAStaleWhiteout() {
        Scenario.assertAgree("""
                lowers 1
                U dir . 0755 0:0 1204324712.808789822
                U dir b 0755 0:0 1195501211.533382489
                U dir b/d 0755 0:0 1103689195.175003812
                U wh b/d/d
                L1 dir . 0755 0:0 1148529396.189323355
                --
                rmdir b/d
                """);
    }

    @Test
    @Disabled("BUG: rename between two names of one file by an unprivileged user: kernel 0 (VFS: source =="
            + " target), layerfs EACCES (one FUSE node per name). Allowed.RENAME_BETWEEN_HARD_LINKS")
    void unprivilegedRenameBetweenTwoNamesOfOneFile() {
        Scenario.assertAgree("""
                lowers 1
                U dir . 0755 0:0 1198205002.199003467
                U file e 0644 0:0 1472987924.336463037 size=1 seed=215138
                U hard a -> e
                L1 dir . 0755 0:0 1322371705.367421727
                --
                as 1000 rename a e 0
                """);
    }

    @Test
    @Disabled("BUG: data written through one hard-linked name is not seen through another name read before"
            + " (one FUSE node and page cache per name, kernel_cache). Allowed.HARD_LINK_PAGE_CACHE")
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
                """);
    }
}
