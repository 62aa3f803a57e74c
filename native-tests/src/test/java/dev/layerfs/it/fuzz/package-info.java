/**
 * Differential fuzzing of layerfs against the kernel overlayfs (issue 4).
 *
 * <h2>How it works</h2>
 * <ul>
 * <li>{@link dev.layerfs.it.fuzz.Gen} makes a <b>sequence</b> from a seed: a layer stack ({@link
 * dev.layerfs.it.fuzz.Stack}: one to five lower layers and maybe an upper one, with files of 0 bytes to 1 MiB, some
 * sparse, nested directories, relative, absolute and dangling symlinks, hard links, fifos, whiteouts (character
 * devices 0/0, or on layerfs's side in some lower layers AUFS {@code .wh.} files), opaque directories, user.*
 * xattrs, varied modes, owners and nanosecond mtimes) and 4 to 30 operations (40 to 60 in the {@code long}
 * profile; {@link dev.layerfs.it.fuzz.Op}, run by {@link dev.layerfs.it.fuzz.Exec}: open with every flag, write
 * and read at offsets through up to three open descriptors, fstat and fchmod on them, truncate, unlink, mkdir, rmdir,
 * rename (also NOREPLACE, EXCHANGE and WHITEOUT), link, symlink, chmod, chown, utimensat, set/remove/get/list xattrs, mkfifo, mknod, stat, readdir,
 * readlink and whole-file reads; some as an unprivileged user, by switching the thread's fsuid/fsgid). Names come
 * from a small alphabet so that layers and operations collide, and many operations must fail. Issue 14 added: names
 * of any bytes ({@link dev.layerfs.it.fuzz.OddNames}: not UTF-8, non-ASCII UTF-8, 251 to 255 bytes) in place of
 * some letters of the alphabet, deep trees whose paths reach PATH_MAX from the mount root, O_DIRECT opens with
 * aligned and misaligned I/O from aligned native memory, and inode numbers compared as relations
 * ({@link dev.layerfs.it.fuzz.Inodes}: st_ino kept or not across a copy-up; d_ino equal to st_ino or not).</li>
 * <li>Names and paths are bytes at the system calls ({@link dev.layerfs.it.fuzz.Sys}, ISO-8859-1 strings) and text
 * everywhere else ({@link dev.layerfs.it.fuzz.ByteNames}: {@code %HH} escapes and {@code %{N}HH} runs, canonical,
 * so a printed sequence pastes back exactly); trees are read and written one directory descriptor at a time.</li>
 * <li>{@link dev.layerfs.it.fuzz.Batch} writes many sequences' stacks into identical copies of five lower layers
 * and an upper layer (each sequence in its own top-level directory), mounts the kernel overlay on one copy and
 * layerfs on the other, runs each sequence's operations on both (kernel first, then layerfs) and compares each
 * outcome (value or errno), the merged trees before and after (type, mode, owner, size, content digest, link target,
 * nlink, xattrs, and mtimes from before the run to the nanosecond), then unmounts, compares the upper layers
 * structurally (whiteouts, opaque markers, copies), checks that layerfs wrote nothing in its lower layers, and
 * cross-mounts: the kernel over layerfs's upper layer and layerfs over the kernel's, both compared with the
 * kernel's view after the sequence.</li>
 * <li>Differences are allowed only by name, from one list: {@link dev.layerfs.it.fuzz.Allowed}, each entry with
 * its reason; an entry that matches a path matches what the operation's path resolved to on the kernel's side.
 * TEMPORARY entries there are open bugs, kept out of the generated sequences or excused until fixed; the
 * {@code full} profile leaves them in.</li>
 * <li>{@link dev.layerfs.it.fuzz.Campaign} runs N sequences from a campaign seed (sequence i has a seed derived from
 * it, and a sequence is a pure function of its seed and {@link dev.layerfs.it.fuzz.Profile}), shrinks each new kind
 * of divergence ({@link dev.layerfs.it.fuzz.Shrinker}: fewer operations, fewer entries and layers, simpler values,
 * all candidates of a round in one batch) and prints it as a ready-to-paste test for
 * {@link dev.layerfs.it.fuzz.DifferentialFuzzRegressionTest}, which replays the text form through
 * {@link dev.layerfs.it.fuzz.Scenario}.</li>
 * </ul>
 *
 * <h2>Running</h2>
 * <pre>
 * make test                                  # includes the bounded campaign (DifferentialFuzzTest)
 * make fuzz SEQS=10000 SEED=7 PROFILE=long   # a long campaign; also KERNEL_OPTS=... LAYERFS_OPTS=...
 * make fuzz REPLAY=1234567890                # one sequence, every outcome printed
 * mvn -B test -pl native-tests -Dtest=DifferentialFuzzTest#campaign -Dfuzz.seqs=N -Dfuzz.seed=S
 * </pre>
 * Properties: {@code fuzz.seqs}, {@code fuzz.seed}, {@code fuzz.profile}, {@code fuzz.batch}, {@code fuzz.threads},
 * {@code fuzz.kernelOptions}, {@code fuzz.layerfsOptions}, {@code fuzz.shrink}, {@code fuzz.shrinkSeconds},
 * {@code fuzz.maxShrinks}, {@code fuzz.replay}, {@code fuzz.tmp}, {@code fuzz.verbose}.
 *
 * <p>Safety: every path an operation uses is resolved below its sequence's directory (openat2 with
 * RESOLVE_BENEATH), so generated symlinks to {@code /etc} or {@code ../../..} never reach the host; the fuzzer
 * unmounts only what it mounted and kills only the layerfs daemons it started (by pid and start time).
 */
package dev.layerfs.it.fuzz;
