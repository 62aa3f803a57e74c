package dev.layerfs.it.fuzz;

import dev.layerfs.it.Transports;
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
 * the comparison looks at; where one keeps something out of the generated stacks or operations, or excuses a
 * divergence after the fact, a test in {@link DifferentialFuzzRegressionTest} shows the exact difference, so that
 * the entry goes when the difference does. TEMPORARY entries are bugs found by the fuzzer and not fixed yet: each
 * keeps what triggers it out of the generated operations, or excuses it after the fact, so that the campaigns
 * go on finding other things meanwhile, and names the @Disabled regression test that reproduces it. When the bug is
 * fixed, delete the entry, enable the test, and the campaigns exercise the area again.
 */
enum Allowed {
    // ---- documented differences (README) ----

    RENAME2_FLAGS(Scope.LIBFUSE2, "renameat2 with RENAME_NOREPLACE or RENAME_EXCHANGE through the layerfs mount is answered"
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

    INODE_NUMBERS(false, "inode numbers are compared as relations, never as numbers (two mounts): for each"
            + " operation that may copy its object up, whether the object's st_ino after it is the one before"
            + " (Inodes: ' ino=kept' or ' ino=new' in the outcome), and for each name in a listing or a tree, whether"
            + " d_ino is the st_ino of what the name reaches (Exec.readdir, Snapshot: 'dino'). st_dev is not"
            + " compared (two different mounts)."),

    KERNEL_BOOKKEEPING_XATTRS(false, "in the upper layers, the kernel's trusted.overlay.origin, .impure and .uuid"
            + " (its inode-number and index bookkeeping) are ignored: layerfs writes origin and impure now (issue"
            + " 14) but not always where the kernel does (a campaign comparing them finds layerfs's origin on"
            + " copies where the kernel wrote none); the opaque marker trusted.overlay.opaque and every other xattr"
            + " are compared."),

    WHITEOUT_FORM(false, "in the upper layers a whiteout is any character device 0/0: its mode, owner, link count"
            + " and times are not compared (the kernel hard-links its whiteouts to one shared inode in the workdir,"
            + " or keeps an older whiteout's mode where it renames over one)."),

    SPARSER_COPY_UP(false, "in the upper layers a copied-up file may be sparse on layerfs where the kernel's copy is"
            + " dense: layerfs copies only the lower file's data extents (SEEK_DATA/SEEK_HOLE), so every hole stays a"
            + " hole; the kernel skips a hole only where it spans a whole 1 MiB copy chunk. The data is compared byte"
            + " for byte either way. Excused: upper/holes where the kernel's copy is dense and layerfs's sparse, and"
            + " nothing else about the file differs (the reverse is a divergence); and a read through an O_DIRECT"
            + " descriptor at an offset or length off the disk's block that the kernel answers EINVAL and layerfs"
            + " reads: ext4 checks the alignment of direct I/O only where data is mapped, and reads a hole without"
            + " (DifferentialFuzzRegressionTest.misalignedDirectReadOfAHoleKeptAtCopyUp shows it).") {
        @Override
        boolean excuses(Compare.Divergence d, List<Op> ops, List<String> kernelOutcomes) {
            if (d.kind().equals("op/read") || d.kind().equals("op/dread")) {
                return d.signature().equals(d.kind() + " kernel EINVAL layerfs ok")
                        && openedDirect(ops.get(opIndex(d)).arg(0), opIndex(d), ops, kernelOutcomes);
            }
            return d.kind().equals("upper/holes") && d.fields().equals(Set.of("holes"))
                    && d.detail().endsWith(" holes: kernel dense, layerfs sparse;");
        }

        /** Whether the descriptor in a slot at an operation was opened with O_DIRECT (its last open there). */
        private static boolean openedDirect(String slot, int index, List<Op> ops, List<String> kernelOutcomes) {
            for (int i = index - 1; i >= 0; i--) {
                Op o = ops.get(i);
                if (o.name().equals("open") && o.arg(0).equals(slot) && kernelOutcomes.get(i).startsWith("ok")) {
                    return o.arg(2).contains("DIRECT");
                }
            }
            return false;
        }
    },

    AUFS_ON_LAYERFS_SIDE_ONLY(false, "AUFS whiteouts ('.wh.NAME', '.wh..wh..opq') appear only in layerfs's copy of"
            + " the lower layers (Stack: the layers marked 'aufs'), where the kernel's copy holds the same whiteouts"
            + " and opaque markers as character devices 0/0 and trusted.overlay.opaque: the kernel shows AUFS"
            + " whiteouts as ordinary files, layerfs honours them (README). For the same reason layerfs's AUFS"
            + " layers are rewritten in place into the kernel's form (same inodes) before the kernel's cross-mount of"
            + " layerfs's layers. No operation uses a name"
            + " starting with '.wh.': layerfs refuses to create one (EINVAL), the kernel creates an ordinary file."),

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

    // ---- documented differences the generated sequences stay clear of, or that are excused after the fact ----

    CHOWN_WITHOUT_CHANGE(Scope.LIBFUSE2, "chown(path, -1, -1) (and lchown) copies a lower file up on the kernel overlay"
            + " (ovl_setattr copies up for any setattr); through layerfs nothing happens, because the kernel's FUSE"
            + " module sends a SETATTR that asks for no change and libfuse 2's high-level API then calls no"
            + " operation at all (README, 'Through FUSE'). The merged views show the same file; the upper layers"
            + " and the parent's link count (a copied-up directory is merged: nlink 1) differ. Kept out of the"
            + " generated operations: chown and lchown with both ids -1."
            + " DifferentialFuzzRegressionTest.chownToMinusOneCopiesUpOnTheKernelOnly shows the difference.") {
        @Override
        boolean excludes(Op op, List<Op> before) {
            return op.name().endsWith("chown") && op.arg(1).equals("-1") && op.arg(2).equals("-1");
        }
    },

    DIRECT_IO_FROM_AN_UNALIGNED_BUFFER(false, "O_DIRECT reads and writes from a buffer whose address is not"
            + " aligned to the disk's logical block are EINVAL on the kernel overlay (the upper or lower filesystem"
            + " checks the address it is handed); through FUSE the daemon never sees the client's buffer: the"
            + " kernel's FUSE module sends the data (a write) or takes it (a read) in its own request buffers and"
            + " accepts any address, so layerfs, like any FUSE filesystem (fuse-overlayfs too), reads and writes"
            + " (README, 'Through FUSE'). Offsets and lengths reach layerfs, which hands them to the real file as"
            + " given, so their misalignment is EINVAL on both. Kept out of the generated operations: dread and"
            + " dwrite whose buffer lies off a 4,096-byte boundary (by 512 bytes it is aligned enough for this disk,"
            + " but another's logical block may be larger). DifferentialFuzzRegressionTest"
            + ".directIoFromAnUnalignedBufferFailsOnTheKernelOnly shows the difference.") {
        @Override
        boolean excludes(Op op, List<Op> before) {
            return (op.name().equals("dread") && !op.arg(3).equals("0"))
                    || (op.name().equals("dwrite") && !op.arg(4).equals("0"));
        }
    },

    OPAQUE_SET_BY_A_FAILED_RENAME(false, "the kernel marks a pure-upper directory opaque when it is renamed into a"
            + " merged directory BEFORE the rename fails with ENOTEMPTY on a non-empty pure-upper target"
            + " (docs/kernel-overlay-facts.md); layerfs leaves the directory of a failed rename as it was (README)."
            + " The merged views agree (the directory has nothing below it); only the upper layers differ. Excused:"
            + " in the upper layers, the kernel's trusted.overlay.opaque=y on a directory that was the source of a"
            + " rename the kernel answered ENOTEMPTY, wherever later renames moved it. DifferentialFuzzRegressionTest"
            + ".failedRenameLeavesTheSourceOpaqueOnTheKernelOnly shows it.") {
        @Override
        boolean excuses(Compare.Divergence d, List<Op> ops, List<String> kernelOutcomes) {
            if (!d.kind().equals("upper/xattrs")) {
                return false;
            }
            String path = d.detail().substring(0, d.detail().indexOf(':'));
            String prefix = path + ": xattrs: kernel {";
            int mid = d.detail().indexOf("}, layerfs {");
            if (!d.detail().startsWith(prefix) || mid < 0 || !d.detail().endsWith("};")) {
                return false;
            }
            // The kernel's xattrs are layerfs's and the opaque marker.
            List<String> kernel = new java.util.ArrayList<>(List.of(d.detail().substring(prefix.length(), mid)
                    .split(", ")));
            String l = d.detail().substring(mid + 12, d.detail().length() - 2);
            if (!kernel.remove("trusted.overlay.opaque=y") || !String.join(", ", kernel).equals(l)) {
                return false;
            }
            // The source of a rename the kernel answered ENOTEMPTY, followed through later renames of it or of a
            // directory above it to where it is now.
            for (int i = 0; i < ops.size() && i < kernelOutcomes.size(); i++) {
                Op op = ops.get(i);
                if (op.name().equals("rename") && kernelOutcomes.get(i).equals("ENOTEMPTY")
                        && path.equals(movedTo(op.arg(0), i, ops, kernelOutcomes))) {
                    return true;
                }
            }
            return false;
        }

        /** Where the object at {@code path} after operation {@code after} is at the end, through renames. */
        private static String movedTo(String path, int after, List<Op> ops, List<String> kernelOutcomes) {
            String at = path;
            for (int j = after + 1; j < ops.size() && j < kernelOutcomes.size(); j++) {
                Op o = ops.get(j);
                if (!o.name().equals("rename") || !kernelOutcomes.get(j).startsWith("ok")) {
                    continue;
                }
                String from = o.arg(0);
                String to = o.arg(1);
                if (at.equals(from) || at.startsWith(from + "/")) {
                    at = to + at.substring(from.length());
                } else if (o.arg(2).equals("EXCHANGE") && (at.equals(to) || at.startsWith(to + "/"))) {
                    at = from + at.substring(to.length());
                }
            }
            return at;
        }
    },

    FAILED_RENAME_TOUCHES_THE_PARENT(false, "where the source of a rename has a lower layer below it, the kernel"
            + " overlay renames with RENAME_WHITEOUT, and the upper file system (ext4 here) puts the whiteout in"
            + " place, so changes the source directory's mtime, before it finds the target directory not empty;"
            + " the rename fails with ENOTEMPTY but the directory's mtime is new. layerfs checks the target first"
            + " and changes nothing (README: a rename that fails changes nothing). Excused, after the fact: an mtime"
            + " that is new on the kernel's side and old on layerfs's, and nothing else, on the parent of the"
            + " source of a rename the kernel answered ENOTEMPTY, in the trees or in a later stat of it."
            + " DifferentialFuzzRegressionTest.failedRenameTouchesTheParentOnTheKernelOnly and"
            + " .failedRenameTouchesTheParentSeenByAStat show it.") {
        @Override
        boolean excuses(Compare.Divergence d, List<Op> ops, List<String> kernelOutcomes) {
            if (d.kind().equals("op/stat")) {
                int at = opIndex(d);
                return at < ops.size() && onlyTheMtimeIsNewOnTheKernel(d.detail())
                        && sourceParentOfAFailedRename(ops.get(at).arg(0), ops, kernelOutcomes, at);
            }
            if (!d.kind().endsWith("/mtime") || !d.fields().equals(Set.of("mtime"))) {
                return false;
            }
            String path = d.detail().substring(0, d.detail().indexOf(':'));
            if (!d.detail().startsWith(path + ": mtime: kernel new, layerfs ") || d.detail().endsWith("new;")) {
                return false;
            }
            return sourceParentOfAFailedRename(path, ops, kernelOutcomes, ops.size());
        }

        /** "op N `stat P`: kernel K, layerfs L" where K says mtime=new, L an old mtime, and nothing else differs. */
        private boolean onlyTheMtimeIsNewOnTheKernel(String detail) {
            int k = detail.indexOf("`: kernel ");
            int l = detail.lastIndexOf(", layerfs ");
            if (k < 0 || l < k) {
                return false;
            }
            String kernel = detail.substring(k + "`: kernel ".length(), l);
            String layerfs = detail.substring(l + ", layerfs ".length());
            return kernel.contains("mtime=new") && !layerfs.contains("mtime=new")
                    && kernel.replaceAll("mtime=\\S+", "mtime=").equals(layerfs.replaceAll("mtime=\\S+", "mtime="));
        }

        /** Whether {@code path} is the parent of the source of a rename before op {@code before} the kernel failed. */
        private boolean sourceParentOfAFailedRename(String path, List<Op> ops, List<String> kernelOutcomes,
                int before) {
            for (int i = 0; i < before && i < ops.size() && i < kernelOutcomes.size(); i++) {
                Op op = ops.get(i);
                if (op.name().equals("rename") && kernelOutcomes.get(i).equals("ENOTEMPTY")) {
                    int slash = op.arg(0).lastIndexOf('/');
                    if ((slash < 0 ? "." : op.arg(0).substring(0, slash)).equals(path)) {
                        return true;
                    }
                }
            }
            return false;
        }
    },

    RMDIR_WITH_STALE_WHITEOUTS(false, "rmdir of a directory that exists in the upper layer only (no lower directory"
            + " below it) and holds nothing but stale whiteouts: the kernel answers ENOTEMPTY (for a directory that"
            + " is not merged it reads the upper directory alone and counts a whiteout as an entry, the same reason"
            + " its readdir lists it: WHITEOUT_LISTED_IN_NON_MERGED_DIR); layerfs judges emptiness on the view it"
            + " shows, where the directory is empty, and removes it with its whiteouts (README). Kept out of the"
            + " generated stacks: whiteouts inside an upper directory that has no lower directory below it."
            + " DifferentialFuzzRegressionTest.rmdirOfAPureUpperDirectoryHoldingAStaleWhiteout shows it.") {
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
            return new Stack(s.lowers(), List.copyOf(kept), s.aufs());
        }
    },

    RENAME_BETWEEN_HARD_LINKS(Scope.LIBFUSE2, "rename(a, b) where a and b are hard links to one file does nothing and answers"
            + " 0 on the kernel overlay (the VFS returns before any permission check: source == target); through"
            + " layerfs an unprivileged caller gets EACCES (or EPERM), because libfuse 2's high-level API gives every"
            + " NAME its own node, so the kernel sees two inodes and checks write permission on the parent before"
            + " layerfs is asked (README, 'Through FUSE'). Excused: an unprivileged rename the kernel answered 0 and"
            + " layerfs EACCES or EPERM (were it a real rename, the trees would differ and be reported)."
            + " DifferentialFuzzRegressionTest.unprivilegedRenameBetweenTwoNamesOfOneFile shows it.") {
        @Override
        boolean excuses(Compare.Divergence d, List<Op> ops, List<String> kernelOutcomes) {
            return excusesRename(d);
        }
    },

    INDEXED_RENAME_BETWEEN_LOWER_HARD_LINKS(false, "with index=on, rename(a, b) where a and b are names of one"
            + " lower hard link (not yet copied up) does nothing and answers 0 on the kernel overlay, which makes them"
            + " one inode (the VFS returns before any permission check: source == target); through FUSE each such"
            + " name is a node of its own (README, 'How layerfs differs'), so the kernel checks write permission on"
            + " the parent before layerfs, which would do nothing too, is asked: an unprivileged caller gets EACCES"
            + " (or EPERM). Excused, only where layerfs runs with index=on, as RENAME_BETWEEN_HARD_LINKS: an"
            + " unprivileged rename the kernel answered 0 and layerfs EACCES or EPERM (were it a real rename, the"
            + " trees would differ and be reported). Measured: shrunk from seed 164213669649104639 (profile long, all"
            + " four), lower c/a/a with hard link c/a/b, `as 65534 rename c/a/a c/a/b`.") {
        @Override
        String onlyWith() {
            return "index=on";
        }

        @Override
        boolean excuses(Compare.Divergence d, List<Op> ops, List<String> kernelOutcomes) {
            return RENAME_BETWEEN_HARD_LINKS.excusesRename(d);
        }
    },

    FSTAT_OF_A_NAMELESS_NODE(Scope.LIBFUSE2, "fstat carries no file handle through FUSE: libfuse 2's high-level API answers it"
            + " by the node's path, and answers ENOENT itself for a node that has none left. That happens where the"
            + " kernel overlay still answers from the open file: a fifo (or other special file) whose name was"
            + " removed while open (the kernel's FUSE module never opens special files, so libfuse does not hide"
            + " them at unlink), an open file whose name was removed and then its directory too (libfuse hid it"
            + " inside that directory), and an open directory that was removed. Reads and writes carry the handle"
            + " and work (README, 'Through FUSE'). Excused,"
            + " after the fact: an fstat, or the link count a read or write (O_DIRECT too) reports, answered"
            + " ENOENT by layerfs where the kernel gives the attributes, once the kernel removed the name the descriptor was opened at"
            + " (followed through renames of it or of a directory above it), or a directory above it (unlink,"
            + " rmdir, a rename onto it); plain unlinked files are held to the"
            + " kernel's answer by"
            + " DifferentialFuzzRegressionTest. .fstatOfAnUnlinkedOpenFifo and .fstatAfterItsDirectoryWasRemoved"
            + " show the difference. fchmod carries no handle either, and libfuse answers it ENOENT for a node"
            + " without a path: kept out of the generated operations, fchmod on a descriptor whose name was removed"
            + " or moved since it was opened (by any open of its slot).") {
        @Override
        boolean excludes(Op op, List<Op> before) {
            return op.name().equals("fchmod") && slotMayBeNameless(op, before, o -> true);
        }

        @Override
        boolean excuses(Compare.Divergence d, List<Op> ops, List<String> kernelOutcomes) {
            String detail = d.detail();
            int at = detail.indexOf('`');
            if (!detail.startsWith("op ") || at < 0) {
                return false;
            }
            int index = opIndex(d);
            String outcomes = detail.substring(detail.indexOf("`: kernel ") + 10);
            int split = outcomes.lastIndexOf(", layerfs ");
            String kernel = outcomes.substring(0, split);
            String layerfs = outcomes.substring(split + 10);
            boolean namelessStat = switch (d.kind()) {
                case "op/fstat" -> layerfs.equals("ENOENT") && !kernel.startsWith("E");
                case "op/read", "op/write", "op/dread", "op/dwrite" -> layerfs.endsWith(" links=ENOENT")
                        && kernel.contains(" links=")
                        && kernel.substring(0, kernel.lastIndexOf(" links=")).equals(
                                layerfs.substring(0, layerfs.lastIndexOf(" links=")));
                default -> false;
            };
            if (!namelessStat) {
                return false;
            }
            // A path the descriptor may have been opened at (any successful open of its slot: on layerfs the
            // slot keeps an older descriptor where a later open failed there alone, as FIFO_PER_NAME's ENXIO), and
            // a later removal of that name or of a directory above it.
            String slot = ops.get(index).arg(0);
            for (int i = 0; i < index && i < kernelOutcomes.size(); i++) {
                Op o = ops.get(i);
                if (o.name().equals("open") && o.arg(0).equals(slot) && kernelOutcomes.get(i).startsWith("ok")
                        && removedSince(o.arg(1), i, index, ops, kernelOutcomes)) {
                    return true;
                }
            }
            return false;
        }

        /** Whether the name {@code opened} (followed through renames) was removed between two operations. */
        private static boolean removedSince(String opened, int openedAt, int index, List<Op> ops,
                List<String> kernelOutcomes) {
            for (int i = openedAt + 1; i < index && i < kernelOutcomes.size(); i++) {
                Op o = ops.get(i);
                if (!kernelOutcomes.get(i).startsWith("ok")) {
                    continue;
                }
                switch (o.name()) {
                    case "unlink", "rmdir" -> {
                        if (covers(o.arg(0), opened)) {
                            return true;
                        }
                    }
                    case "rename" -> {
                        // The name moves with a rename of it or of a directory above it; a rename onto it
                        // removes it, except an exchange, which moves it to the source's place.
                        String from = o.arg(0);
                        String to = o.arg(1);
                        if (covers(from, opened)) {
                            opened = to + opened.substring(from.length());
                        } else if (covers(to, opened)) {
                            if (!o.arg(2).equals("EXCHANGE")) {
                                return true;
                            }
                            opened = from + opened.substring(to.length());
                        }
                    }
                    default -> { }
                }
            }
            return false;
        }

        private static boolean covers(String removed, String path) {
            return path.equals(removed) || path.startsWith(removed + "/");
        }
    },

    FIFO_PER_NAME(Scope.LIBFUSE2, "a fifo's pipe belongs to the kernel's inode, and through libfuse 2's high-level API each"
            + " NAME of a hard-linked fifo is an inode of its own: a writer opening one name does not meet a reader"
            + " that opened another, so a non-blocking open for writing is ENXIO (no reader) on layerfs where the"
            + " kernel overlay, with one inode, opens it (README, 'Through FUSE'). Excused, after the fact: an open"
            + " for writing answered ENXIO by layerfs where the kernel opened the file (ENXIO at open comes from a"
            + " fifo without a reader only), and EBADF for what follows on that descriptor slot."
            + " DifferentialFuzzRegressionTest.fifoReaderThroughAnotherName shows it.") {
        @Override
        boolean excuses(Compare.Divergence d, List<Op> ops, List<String> kernelOutcomes) {
            if (d.signature().equals("op/open kernel ok layerfs ENXIO")) {
                return !d.detail().contains(" RDONLY");
            }
            // What follows on that descriptor slot: layerfs has no descriptor there (EBADF). Were the open's
            // failure anything but this ENXIO, the open itself is reported.
            if (!d.kind().startsWith("op/") || !d.detail().endsWith(", layerfs EBADF")
                    || !d.detail().startsWith("op ")) {
                return false;
            }
            int index = opIndex(d);
            String slot = ops.get(index).arg(0);
            for (int i = index - 1; i >= 0; i--) {
                Op o = ops.get(i);
                if (o.name().equals("open") && o.arg(0).equals(slot)) {
                    return kernelOutcomes.get(i).startsWith("ok") && !o.arg(2).contains("RDONLY");
                }
            }
            return false;
        }
    },

    FUSE_ATTRIBUTE_CACHE(Scope.LIBFUSE2, "the campaigns on libfuse2 mount layerfs with timeout=0 (on the kernel"
            + " transport, one node per object and told of each copy-up, they run with the default timeout). With the default timeout=1 the kernel"
            + " caches attributes per FUSE node for up to a second, and libfuse 2's high-level API makes one node per"
            + " NAME: a change through one name of a hard-linked file (size, owner, mode, link count) is seen through"
            + " the other only when the cache expires; and a directory's link count changes at copy-up (its real"
            + " count, then 1 once merged) without the kernel being told (README, 'Through FUSE'; timeout=0 removes"
            + " both). DifferentialFuzzRegressionTest.hardLinkedNameSeesTruncateThroughTheOther,"
            + " .chownThroughOneHardLinkName and .parentNlinkAfterCopyUp show it with the default and agree with"
            + " timeout=0.") {
        @Override
        String layerfsOptions() {
            return "timeout=0";
        }
    },

    INDEXED_HARD_LINK_NAMES_CACHED_APART(false, "with index=on, the kernel overlay makes every name of a lower"
            + " hard link one inode (found through the index by its origin), so a change through one name (chmod,"
            + " chown, the link count an unlink or link changes, the mtime a data copy-up gives) shows at once"
            + " through the others; through FUSE each name not yet copied up is a separate kernel inode with its own"
            + " cached attributes. The kernel transport tells the kernel of every node of the object's inode number"
            + " at a copy-up, setattr, link, unlink, a rename onto a name, and a write through a descriptor (such files"
            + " are served, not passed through, on index=on mounts: DifferentialFuzzRegressionTest"
            + ".indexedCopyUpIsSeenThroughTheOtherNames, .changeThroughACopiedUpNameIsSeenThroughTheOthers,"
            + " .writeThroughAnUnlinkedIndexedNameIsSeenThroughTheOther, .renameOntoAnIndexedNameIsSeenThroughTheOther);"
            + " through libfuse 2 the other names show a change once their attribute timeout (timeout=1) expires"
            + " (README, 'How layerfs differs'). Excused, only where layerfs runs with index=on and the"
            + " default attribute timeout: a stat, lstat or fstat, or a merged node after the sequence, where only"
            + " mode, owner, link count, mtime, size or content differ, on a regular file with two links or more"
            + " on either side. Measured: every shrunk case of it agreed with timeout=0 (the last, seed"
            + " 3432570776157833725: lower c/b with hard link e; link c/b b/o; open e RDWR; lchown c/b; write"
            + " through e's descriptor; stat b/o shows the old size).") {
        @Override
        String onlyWith() {
            return "index=on";
        }

        @Override
        boolean needsAttributeCache() {
            return true;
        }

        @Override
        boolean excuses(Compare.Divergence d, List<Op> ops, List<String> kernelOutcomes) {
            Set<String> attrs = Set.of("mode", "owner", "nlink", "mtime", "size", "content", "holes");
            if (d.kind().startsWith("merged/")) {
                if (d.fields().isEmpty() || !attrs.containsAll(d.fields()) || d.kernelNode() == null) {
                    return false;
                }
                String k = d.kernelNode().get("nlink");
                java.util.regex.Matcher m = java.util.regex.Pattern.compile(" nlink: kernel \\d+, layerfs (\\d+);")
                        .matcher(d.detail());
                return k != null && Long.parseLong(k) >= 2 || m.find() && Long.parseLong(m.group(1)) >= 2;
            }
            if (!Set.of("op/stat", "op/lstat", "op/fstat").contains(d.kind())) {
                return false;
            }
            java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                    ": kernel (\\S+) \\S+ \\S+ size=\\d+ nlink=(\\d+) mtime=\\S+,"
                    + " layerfs (\\S+) \\S+ \\S+ size=\\d+ nlink=(\\d+) mtime=\\S+$").matcher(d.detail());
            return m.find() && m.group(1).equals(m.group(3)) && m.group(1).equals("f")
                    && (Long.parseLong(m.group(2)) >= 2 || Long.parseLong(m.group(4)) >= 2);
        }
    },

    FCHMOD_OF_A_REMOVED_LOWER_OBJECT(false, "fchmod through a descriptor whose name was removed, where the object"
            + " may be a lower layer's: the kernel overlay copies a removed lower fifo (or device) up to the name it"
            + " had, replacing the whiteout the unlink left (moved to the work directory), so the removed name is"
            + " back in the view with the new mode; layerfs does not bring a removed name back and answers ENOENT"
            + " (README, 'How layerfs differs'); a removed lower regular file is EEXIST on both. Measured here on the"
            + " kernel overlay: lower fifo p, open RDWR, unlink p, fchmod 0600: p listed again, mode 0600, and so"
            + " after a remount. Kept out of the generated operations: fchmod on a descriptor slot opened (by any"
            + " open of it) without O_CREAT|O_EXCL (O_CREAT alone opens an existing lower object: seed"
            + " 6757079636704700625) at a name removed or moved since. DifferentialFuzzRegressionTest"
            + ".fchmodOfARemovedLowerFifo shows the difference.") {
        @Override
        boolean excludes(Op op, List<Op> before) {
            return op.name().equals("fchmod")
                    && slotMayBeNameless(op, before, o -> !o.arg(2).contains("CREAT") || !o.arg(2).contains("EXCL"));
        }
    },

    // ---- TEMPORARY: bugs found by the fuzzer, excused until fixed (none open) ----

    ;

    /**
     * Whether the descriptor in the slot an operation uses may have been opened at a name that was removed or
     * moved since (by {@code opens} of the slot, among the operations before it). Every open of the slot counts:
     * which one's descriptor is there depends on outcomes (a failed open leaves the older one).
     */
    static boolean slotMayBeNameless(Op op, List<Op> before, Predicate<Op> opens) {
        for (int i = before.size() - 1; i >= 0; i--) {
            Op o = before.get(i);
            if (o.name().equals("open") && o.arg(0).equals(op.arg(0)) && opens.test(o)
                    && nameMovedOrRemoved(o.arg(1), i, before)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether a name (or a directory above it), as the generated operations spell it, is unlinked, removed or
     * renamed (from or onto) after operation {@code i}: whether the descriptor opened there may have no name left.
     */
    static boolean nameMovedOrRemoved(String name, int i, List<Op> ops) {
        for (int j = i + 1; j < ops.size(); j++) {
            Op o = ops.get(j);
            boolean touches = switch (o.name()) {
                case "unlink", "rmdir" -> under(o.arg(0), name);
                case "rename" -> under(o.arg(0), name) || under(o.arg(1), name);
                default -> false;
            };
            if (touches) {
                return true;
            }
        }
        return false;
    }

    private static boolean under(String removed, String path) {
        return path.equals(removed) || path.startsWith(removed + "/");
    }

    static final String GHOST_MARK = "?";
    /** After a name in a listing: its d_ino is not the st_ino of what it names. */
    static final String D_INO_MARK = " (d_ino)";

    /**
     * Which transports a difference belongs to: {@link #ALL}, or {@link #LIBFUSE2} for those that come from libfuse
     * 2's path API (one kernel inode per name, no rename2, no SETATTR without a change) and that the kernel
     * transport, one node per object, does not have. An entry excuses nothing on a transport outside its scope.
     */
    enum Scope {
        ALL, LIBFUSE2;

        boolean covers(String transport) {
            return this == ALL || name().toLowerCase(java.util.Locale.ROOT).equals(transport);
        }
    }

    final Scope scope;
    final boolean temporary;
    final String reason;

    Allowed(boolean temporary, String reason) {
        this(Scope.ALL, temporary, reason);
    }

    /** A documented difference of the transports in {@code scope} only. */
    Allowed(Scope scope, String reason) {
        this(scope, false, reason);
    }

    Allowed(Scope scope, boolean temporary, String reason) {
        this.scope = scope;
        this.temporary = temporary;
        this.reason = reason;
    }

    /** Whether this entry applies to the transport of this run ({@link Transports#current()}). */
    boolean applies() {
        return scope.covers(Transports.current());
    }

    /** True where this entry keeps this operation (after those before it) out of the generated sequences. */
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

    /** An unprivileged rename the kernel answered 0 and layerfs EACCES or EPERM. */
    boolean excusesRename(Compare.Divergence d) {
        return (d.signature().equals("op/rename kernel ok layerfs EACCES")
                || d.signature().equals("op/rename kernel ok layerfs EPERM")) && d.detail().contains("`as ");
    }

    /** The index of the operation an "op N `...`: ..." divergence is about. */
    static int opIndex(Compare.Divergence d) {
        return Integer.parseInt(d.detail().substring(3, d.detail().indexOf('`')).trim()) - 1;
    }

    /**
     * Drops the divergences the given entries excuse, counting them as allowed. The operations are given as the
     * paths they resolved to on the kernel's side ({@link Exec#resolved}), so that an entry matching a path
     * matches the object, however the operation spelled it (through a link to a directory, "..", ".").
     */
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

    /** The generated stack without what this entry keeps out of it. */
    Stack filter(Stack s) {
        return s;
    }

    /** A layerfs mount option this entry is about ("" for none): the entry excuses nothing where layerfs runs without it. */
    String onlyWith() {
        return "";
    }

    /** True where the entry is about the attribute cache: it excuses nothing where layerfs runs with timeout=0. */
    boolean needsAttributeCache() {
        return false;
    }

    /** The entries that apply to a run with these layerfs options ({@link #onlyWith}). */
    static Set<Allowed> forOptions(Set<Allowed> entries, String layerfsOptions) {
        List<String> opts = List.of(layerfsOptions.split(","));
        Set<Allowed> out = EnumSet.noneOf(Allowed.class);
        for (Allowed a : entries) {
            if ((a.onlyWith().isEmpty() || opts.contains(a.onlyWith()))
                    && !(a.needsAttributeCache() && opts.contains("timeout=0"))) {
                out.add(a);
            }
        }
        return out;
    }

    /** Extra layerfs mount options the campaigns need for this entry ("" for none). */
    String layerfsOptions() {
        return "";
    }

    /**
     * Every entry of this run's transport: what the campaigns apply (permanent entries, and TEMPORARY ones while
     * their bug is open).
     */
    static Set<Allowed> all() {
        Set<Allowed> s = EnumSet.noneOf(Allowed.class);
        for (Allowed a : values()) {
            if (a.applies()) {
                s.add(a);
            }
        }
        return s;
    }

    /** The permanent entries of this run's transport: the documented differences. */
    static Set<Allowed> permanent() {
        Set<Allowed> s = all();
        s.removeAll(temporaries());
        return s;
    }

    /** The TEMPORARY entries (open bugs). */
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

    /**
     * Operations run on layerfs first, and on the kernel only where layerfs does not answer EINVAL
     * ({@link #RENAME2_FLAGS}, where it applies).
     */
    static boolean layerfsFirst(Op op) {
        return op.name().equals("rename") && !op.arg(2).equals("0") && RENAME2_FLAGS.applies();
    }

    /**
     * The entry that excuses a difference in one operation's outcome, or null where nothing does.
     */
    static Allowed excuse(Op op, String kernel, String layerfs) {
        if (op.name().equals("rename") && kernel.equals(Exec.SKIPPED) && layerfs.equals("EINVAL")
                && RENAME2_FLAGS.applies()) {
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
