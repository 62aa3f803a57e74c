package dev.layerfs.it.fuzz;

import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.function.Predicate;

/**
 * THE list of differences between the kernel overlay and layerfs that the differential fuzzer accepts, each with
 * its reason. The comparator ({@link Compare}, {@link Exec}, {@link Snapshot}) relaxes a comparison only by
 * naming one of these; everything else that differs is a divergence.
 *
 * <p>Permanent entries are layerfs's documented differences (README, "How layerfs differs") or the limits of what
 * the comparison looks at. TEMPORARY entries are bugs found by the fuzzer and not fixed yet: each excludes from
 * the generated operations what triggers it, so that the bounded campaign of {@code make test} passes today; each
 * names the @Disabled regression test in {@link DifferentialFuzzRegressionTest} that reproduces it. When the bug
 * is fixed, delete the entry, enable the test, and the campaigns exercise the area again.
 */
enum Allowed {
    // ---- documented differences (README) ----

    RENAME2_FLAGS(false, "renameat2 with RENAME_NOREPLACE or RENAME_EXCHANGE through the layerfs mount is answered"
            + " EINVAL by the kernel's FUSE module, because libfuse 2 (jnr-fuse's binding) has no rename2 (README,"
            + " 'Through FUSE'). The VFS checks before the file system is asked (ENOENT, ENOTDIR, EEXIST for"
            + " NOREPLACE onto a name, ENOENT for EXCHANGE with a missing target, a rename onto itself, EACCES) are"
            + " the same for both, so such an operation runs on layerfs first: where layerfs answers EINVAL, it is"
            + " not run on the kernel overlay (it would change the tree there only); any other answer must be the"
            + " kernel's too."),

    WHITEOUT_LISTED_IN_NON_MERGED_DIR(false, "the kernel's readdir lists a whiteout that lies in a directory that is"
            + " not merged (lookup then says ENOENT); layerfs never lists a whiteout (README: 'whiteouts in a"
            + " directory that is not merged are never listed'). Such names ('ghosts': listed, but lstat ENOENT)"
            + " are dropped from the kernel's listings and trees before comparing; layerfs must have none."),

    INODE_NUMBERS(false, "st_ino and d_ino are not compared: layerfs reports the topmost real object's inode"
            + " number, which changes at copy-up, where the kernel keeps the lower one through its origin xattr"
            + " (README, planned). st_dev is not compared either (two different mounts)."),

    KERNEL_BOOKKEEPING_XATTRS(false, "in the upper layers, the kernel's trusted.overlay.origin, .impure and .uuid"
            + " (its inode-number and index bookkeeping, which layerfs does not keep) are ignored; the opaque"
            + " marker trusted.overlay.opaque and every other xattr are compared."),

    WHITEOUT_FORM(false, "in the upper layers a whiteout is any character device 0/0: its mode, owner, link count"
            + " and times are not compared (the kernel hard-links its whiteouts to one shared inode in the workdir,"
            + " or keeps an older whiteout's mode where it renames over one)."),

    NO_AUFS_WHITEOUTS(false, "the stacks hold no AUFS whiteouts ('.wh.NAME', '.wh..wh..opq') and no operation"
            + " uses a name starting with '.wh.': the kernel shows them as ordinary files, layerfs honours them and"
            + " refuses to create them (README)."),

    NO_PRIVATE_XATTRS(false, "no operation sets or removes trusted.overlay.*, user.overlay.* or"
            + " user.fuseoverlayfs.* xattrs: the kernel (6.7+) stores them escaped, layerfs refuses them with EPERM"
            + " (README). Opaque markers are only ever written into the layers before the mount."),

    NO_XATTR_WHITEOUTS(false, "the stacks hold no xattr whiteouts (trusted.overlay.whiteout): layerfs honours them"
            + " only inside a directory marked opaque 'x', the kernel everywhere on lookup (README)."),

    OLD_TIMES_ONLY(false, "mtimes are compared to the nanosecond where either side shows a time from before the"
            + " run (kept from a layer, kept at copy-up, or set explicitly by utimensat); a time the run itself"
            + " made ('now') differs between two mounts by nature and is only required to be new on both sides."
            + " atime and ctime are not compared."),

    SEQUENCE_DIRECTORIES_ONLY(false, "the mount roots (above the sequences' directories) are not compared: each"
            + " sequence compares only its own directory and what lies below it."),

    // ---- TEMPORARY: bugs found by the fuzzer, excluded from the generated operations until fixed ----

    UNLINKED_OPEN_FILE_IO(true, "BUG (DifferentialFuzzRegressionTest.writeToAnOpenFileAfterItsUnlink): read, write,"
            + " fstat and ftruncate through a descriptor whose name was unlinked (or renamed over) fail with ENOENT"
            + " on layerfs; the kernel overlay serves them. libfuse 2's high-level API, with hard_remove, forgets"
            + " the path of an unlinked node and answers ENOENT itself unless the file system sets"
            + " flag_nullpath_ok (which jnr-fuse maps as padding, so layerfs cannot set it today) and accepts a"
            + " null path in read/write/fgetattr/ftruncate/release. Excluded: an operation on a descriptor slot"
            + " after an unlink or rename that followed the slot's first open.") {
        @Override
        boolean excludes(Op op, List<Op> before) {
            if (!Set.of("write", "read", "fstat", "ftruncate").contains(op.name())) {
                return false;
            }
            // An open can fail and leave the slot's earlier descriptor in place: look from the slot's FIRST open.
            boolean opened = false;
            for (Op b : before) {
                opened |= b.name().equals("open") && b.arg(0).equals(op.arg(0));
                if (opened && (b.name().equals("unlink") || b.name().equals("rename"))) {
                    return true;
                }
            }
            return false;
        }
    },

    PARTIAL_UTIMENS(true, "BUG (DifferentialFuzzRegressionTest.utimensWithOmitChangesNothing, also"
            + " DifferentialTest.tarExtractionKeepsTheArchiveTimes): utimensat with UTIME_OMIT or UTIME_NOW for one"
            + " of the two times is answered 0 and changes nothing on layerfs (no copy-up, no new time); the kernel"
            + " sets the other time. libfuse 2 passes UTIME_OMIT/UTIME_NOW through only where the file system sets"
            + " flag_utime_omit_ok (padding in jnr-fuse), so layerfs never sees them as asked. Excluded: utimens and"
            + " lutimens with NOW or OMIT.") {
        @Override
        boolean excludes(Op op, List<Op> before) {
            return op.name().endsWith("utimens") && (op.args().contains("NOW") || op.args().contains("OMIT"));
        }
    },

    OTRUNC_KEEPS_SETUID(true, "BUG (DifferentialFuzzRegressionTest.openWithTruncByTheOwnerClearsSetuid): an open with"
            + " O_TRUNC by an unprivileged caller leaves the setuid (and setgid) bit of the file on layerfs; the kernel"
            + " clears it (do_truncate with ATTR_KILL_SUID). With atomic_o_trunc the kernel's FUSE module sends the"
            + " truncation inside OPEN, so the file system must kill the bits itself. Excluded: O_TRUNC opens as an"
            + " unprivileged user.") {
        @Override
        boolean excludes(Op op, List<Op> before) {
            return op.name().equals("open") && op.uid() != 0 && op.arg(2).contains("TRUNC");
        }
    },

    CHOWN_WITHOUT_CHANGE(true, "BUG (DifferentialFuzzRegressionTest.chownToMinusOneCopiesUp): chown(path, -1, -1)"
            + " (and lchown) copies a lower file up on the kernel overlay (ovl_setattr copies up for any setattr);"
            + " through layerfs nothing happens, because the kernel's FUSE module sends a SETATTR without uid or gid"
            + " and libfuse 2's high-level API calls no operation for it. The upper layers differ, and so does the"
            + " parent's link count (a copied-up directory is merged: nlink 1). Excluded: chown and lchown with"
            + " both ids -1.") {
        @Override
        boolean excludes(Op op, List<Op> before) {
            return op.name().endsWith("chown") && op.arg(1).equals("-1") && op.arg(2).equals("-1");
        }
    },

    OPAQUE_SET_BY_A_FAILED_RENAME(true, "BUG, or a difference to document (DifferentialFuzzRegressionTest"
            + ".failedRenameLeavesTheSourceOpaque): the kernel marks a pure-upper directory opaque when it is renamed"
            + " into a merged directory BEFORE the rename fails with ENOTEMPTY on a non-empty pure-upper target"
            + " (kernel-facts 5c); layerfs leaves the directory unmarked. The merged views agree (the directory has"
            + " nothing below it); only the upper layers differ. Relaxed: in the upper layers, the kernel's"
            + " trusted.overlay.opaque=y on a directory that was the source of a rename the kernel answered"
            + " ENOTEMPTY.") {
        @Override
        boolean excuses(Compare.Divergence d, List<Op> ops, List<String> kernelOutcomes) {
            if (!d.kind().equals("upper/xattrs")) {
                return false;
            }
            String path = d.detail().substring(0, d.detail().indexOf(':'));
            if (!d.detail().equals(path + ": xattrs: kernel {trusted.overlay.opaque=y}, layerfs {};")) {
                return false;
            }
            for (int i = 0; i < ops.size() && i < kernelOutcomes.size(); i++) {
                Op op = ops.get(i);
                if (op.name().equals("rename") && op.arg(0).equals(path)
                        && kernelOutcomes.get(i).equals("ENOTEMPTY")) {
                    return true;
                }
            }
            return false;
        }
    },

    RMDIR_WITH_STALE_WHITEOUTS(true, "BUG, or an extension of the documented difference to document"
            + " (DifferentialFuzzRegressionTest.rmdirOfAPureUpperDirectoryHoldingAStaleWhiteout): rmdir of a"
            + " directory that exists in the upper layer only (no lower directory below it) and holds nothing but"
            + " a stale whiteout succeeds on layerfs (emptiness judged on the merged view); the kernel answers"
            + " ENOTEMPTY (it removes a pure-upper directory with the upper file system's rmdir; kernel-facts 4)."
            + " README documents only that such whiteouts are not listed. Excluded: the generated upper layers hold"
            + " no whiteout inside a directory that has no lower directory below it.") {
        @Override
        Stack filter(Stack s) {
            List<Stack.Entry> kept = new java.util.ArrayList<>();
            for (Stack.Entry e : s.entries()) {
                if (e.layer() == 0 && e.kind() == Stack.Kind.WH) {
                    int slash = e.path().lastIndexOf('/');
                    List<Integer> dir = s.dirLayers(slash < 0 ? "." : e.path().substring(0, slash));
                    if (dir.size() == 1 && dir.get(0) == 0) {
                        continue;
                    }
                }
                kept.add(e);
            }
            return new Stack(s.lowers(), List.copyOf(kept));
        }
    },

    RENAME_BETWEEN_HARD_LINKS(true, "BUG (DifferentialFuzzRegressionTest.unprivilegedRenameBetweenTwoNamesOfOneFile):"
            + " rename(a, b) where a and b are hard links to one file does nothing and answers 0 (the VFS returns"
            + " before any permission check: source == target); through layerfs an unprivileged caller gets EACCES"
            + " (or EPERM), because libfuse 2's high-level API gives every NAME its own node, so the kernel sees two"
            + " inodes and checks write permission on the parent. Relaxed: an unprivileged rename the kernel"
            + " answered 0 and layerfs EACCES or EPERM (were it a real rename, the trees would differ and be"
            + " reported).") {
        @Override
        boolean excuses(Compare.Divergence d, List<Op> ops, List<String> kernelOutcomes) {
            return (d.signature().equals("op/rename kernel ok layerfs EACCES")
                    || d.signature().equals("op/rename kernel ok layerfs EPERM")) && d.detail().contains("`as ");
        }
    },

    HARD_LINK_PAGE_CACHE(true, "BUG (DifferentialFuzzRegressionTest.writeThroughOneHardLinkReadThroughAnother):"
            + " data written through one name of a hard-linked file is not seen when the file is read through"
            + " another name that was read before: libfuse 2's high-level API gives each NAME its own node (kernel"
            + " inode), and with the kernel_cache option the kernel keeps each one's page cache across opens, so"
            + " the other name serves stale pages (timeout=0 does not help). Relaxed: a content difference of a"
            + " file with more than one link (in the merged view after the sequence, or as read by cat or read) where"
            + " nothing else differs; the upper-layer and cross-mount comparisons still compare the data.") {
        @Override
        boolean excuses(Compare.Divergence d, List<Op> ops, List<String> kernelOutcomes) {
            if (d.kind().equals("merged/content")) {
                return d.fields().equals(Set.of("content")) && d.kernelNode() != null
                        && Long.parseLong(d.kernelNode().getOrDefault("nlink", "1")) > 1;
            }
            if (d.kind().equals("op/cat") || d.kind().equals("op/read")) {
                // "op N `...`: kernel ok SIZE MD5 links=L, layerfs ok SIZE MD5' links=L"
                String[] kl = d.detail().substring(d.detail().indexOf("`: kernel ") + 10).split(", layerfs ");
                if (kl.length != 2) {
                    return false;
                }
                String[] k = kl[0].split(" ");
                String[] l = kl[1].split(" ");
                return k.length == 4 && l.length == 4 && k[0].equals("ok") && l[0].equals("ok") && k[1].equals(l[1])
                        && k[3].equals(l[3]) && !k[3].equals("links=1");
            }
            return false;
        }
    },

    FUSE_ATTRIBUTE_CACHE(true, "BUG (DifferentialFuzzRegressionTest.hardLinkedNameSeesTruncateThroughTheOther,"
            + " .parentNlinkAfterCopyUp, .chownThroughOneHardLinkName; also"
            + " MountBehaviourTest.hardLinkedNamesSeeEachOthersChanges): with the default timeout=1 the kernel"
            + " caches attributes per FUSE node, and libfuse 2's high-level API makes one node per NAME, so a change"
            + " through one name of a hard-linked file (size, owner, mode) is not seen through the other for up to"
            + " a second; likewise a directory's link count changes at copy-up (its real count, then 1 once merged)"
            + " without the kernel being told. Excluded: the bounded profile mounts layerfs with timeout=0.") {
        @Override
        String layerfsOptions() {
            return "timeout=0";
        }
    },
    ;

    static final String GHOST_MARK = "?";

    final boolean temporary;
    final String reason;

    Allowed(boolean temporary, String reason) {
        this.temporary = temporary;
        this.reason = reason;
    }

    /** True where a TEMPORARY entry keeps this operation (after those before it) out of the generated sequences. */
    boolean excludes(Op op, List<Op> before) {
        return false;
    }

    /**
     * True where this entry excuses a divergence found after a sequence ran (its operations and the kernel's
     * outcome for each). Only the {@linkplain Profile#exclusions() entries the profile applies} are asked.
     */
    boolean excuses(Compare.Divergence d, List<Op> ops, List<String> kernelOutcomes) {
        return false;
    }

    /** Drops the divergences the given entries excuse, counting them as allowed. */
    static void excuseAfterTheFact(Set<Allowed> entries, List<Op> ops, List<String> kernelOutcomes,
            Compare.Findings f) {
        for (java.util.Iterator<Compare.Divergence> it = f.divergences.iterator(); it.hasNext(); ) {
            Compare.Divergence d = it.next();
            for (Allowed a : entries) {
                if (a.excuses(d, ops, kernelOutcomes)) {
                    it.remove();
                    f.allow(a, 1);
                    break;
                }
            }
        }
    }

    /** The generated stack without what this TEMPORARY entry keeps out of it. */
    Stack filter(Stack s) {
        return s;
    }

    /** Extra layerfs mount options this TEMPORARY entry needs while its bug is open ("" for none). */
    String layerfsOptions() {
        return "";
    }

    /** The TEMPORARY entries. */
    static Set<Allowed> temporaries() {
        Set<Allowed> s = EnumSet.noneOf(Allowed.class);
        for (Allowed a : values()) {
            if (a.temporary) {
                s.add(a);
            }
        }
        return s;
    }

    /** Which xattrs of an upper layer are compared ({@link #KERNEL_BOOKKEEPING_XATTRS}). */
    static boolean comparedInUpper(String name) {
        return !name.equals("trusted.overlay.origin") && !name.equals("trusted.overlay.impure")
                && !name.equals("trusted.overlay.uuid");
    }

    /** Operations run on layerfs first, and on the kernel only where layerfs does not answer EINVAL. */
    static boolean layerfsFirst(Op op) {
        return op.name().equals("rename") && !op.arg(2).equals("0");
    }

    /**
     * The entry that excuses a difference in one operation's outcome, or null where nothing does.
     */
    static Allowed excuse(Op op, String kernel, String layerfs) {
        if (op.name().equals("rename") && kernel.equals(Exec.SKIPPED) && layerfs.equals("EINVAL")) {
            return RENAME2_FLAGS;
        }
        if (op.name().equals("readdir") && kernel.contains(GHOST_MARK)
                && stripGhosts(kernel).equals(layerfs)) {
            return WHITEOUT_LISTED_IN_NON_MERGED_DIR;
        }
        return null;
    }

    /** A readdir outcome "ok [a, b?, c]" without the ghost names. */
    static String stripGhosts(String outcome) {
        if (!outcome.startsWith("ok [") || outcome.equals("ok []")) {
            return outcome;
        }
        String inner = outcome.substring(4, outcome.length() - 1);
        StringBuilder b = new StringBuilder("ok [");
        boolean first = true;
        for (String n : inner.split(", ")) {
            if (n.endsWith(GHOST_MARK)) {
                continue;
            }
            if (!first) {
                b.append(", ");
            }
            b.append(n);
            first = false;
        }
        return b.append(']').toString();
    }

    /** Drops the ghosts from a kernel tree ({@link #WHITEOUT_LISTED_IN_NON_MERGED_DIR}); returns how many. */
    static int stripGhosts(SortedMap<String, Map<String, String>> kernelTree) {
        Predicate<Map<String, String>> ghost = n -> Snapshot.GHOST.equals(n.get("type"));
        int before = kernelTree.size();
        kernelTree.values().removeIf(ghost);
        return before - kernelTree.size();
    }
}
