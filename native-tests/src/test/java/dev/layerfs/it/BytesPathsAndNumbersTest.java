package dev.layerfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What fuse-overlayfs and the kernel get right and layerfs once did not, each compared with the kernel overlay on
 * identical copies of the same layers: names that are not UTF-8, paths up to PATH_MAX from the mount root,
 * O_DIRECT, inode numbers through copy-up and remount, set-user-ID programs, and the tools that trip over changed
 * inode numbers (chmod -R, chown -R).
 */
class BytesPathsAndNumbersTest {
    @RegisterExtension
    final MountExtension ext = new MountExtension();

    private static final Predicate<String> USER_XATTRS = n -> n.startsWith("user.");

    /** Logs each command's exit code and output, names shown by bash's %q so that every byte is visible. */
    private static final String PRELUDE = """
            r() { local out rc; out=$("$@" 2>&1); rc=$?; printf '%q ' "$@"; printf -- '-> %d %q\\n' "$rc" "$out"; }
            """;

    /** Two mounts of the same layers: the kernel overlay and layerfs. */
    private record Pair(KernelOverlay kernel, LayerfsMount layerfs, Layers kl, Layers fl) {}

    private Pair mountBoth(String setup, String... layerfsOptions) {
        Layers base = ext.layers("base", 2);
        Sh.bash("set -e\n" + setup, ext.root(), Map.of("L1", base.lower(0).toString(), "L2",
                base.lower(1).toString(), "U", base.upper().toString())).assertOk();
        Layers kl = base.copyTo(ext.root().resolve("kernel"));
        Layers fl = base.copyTo(ext.root().resolve("layerfs"));
        String[] options = layerfsOptions.length == 0 ? new String[] {"timeout=0"} : layerfsOptions;
        return new Pair(ext.mountKernel(kl), ext.mount(fl, options), kl, fl);
    }

    /** Runs a script in both mounts and asserts the same outcomes; returns the log. */
    private static String sameOutcomes(Pair p, String script) {
        String k = Sh.bash(PRELUDE + script, p.kernel().mountPoint(), Map.of()).stdout();
        String f = Sh.bash(PRELUDE + script, p.layerfs().mountPoint(), Map.of()).stdout();
        assertEquals(k, f, "the outcomes of the same commands (kernel, layerfs)");
        return k;
    }

    private static void sameTrees(String what, Path kernel, Path layerfs, Predicate<String> xattrs) {
        assertEquals(List.of(), ByteTree.diff(ByteTree.scan(kernel, xattrs).objects(),
                ByteTree.scan(layerfs, xattrs).objects()), what + " (kernel, layerfs)");
    }

    private static void sameMergedAndUpper(Pair p) {
        sameTrees("the merged trees", p.kernel().mountPoint(), p.layerfs().mountPoint(), USER_XATTRS);
        p.kernel().unmount();
        p.layerfs().unmount();
        sameTrees("the upper layers", p.kl().upper(), p.fl().upper(),
                USER_XATTRS.or(n -> n.equals("trusted.overlay.opaque")));
    }

    // ---- names are bytes ----

    @Test
    void namesThatAreNotUtf8() {
        Pair p = mountBoth("""
                touch "$L1"/$'\\x80' "$L1"/$'caf\\xc3\\xa9' "$L2"/$'\\xff' "$L2"/$'lone\\xc3'
                mkdir "$L2"/$'\\xe9t\\xe9'; echo lower > "$L2"/$'\\xe9t\\xe9'/$'\\xfe'
                touch "$L1/$(head -c 255 /dev/zero | tr '\\0' '\\377')"
                touch "$L2/$(head -c 252 /dev/zero | tr '\\0' '\\375')"
                ln -s $'\\xfa\\xfb' "$L1"/$'link\\xfc'
                setfattr -n user.$'\\xf0\\x80' -v 0x00ff "$L1"/$'\\x80'
                """);
        sameOutcomes(p, """
                r touch $'\\xfd'
                r sh -c "set -C; : > $'\\xfe'"
                r sh -c "set -C; : > $'\\xfd'"
                r mkdir $'\\x81' $'d\\n\\x82'
                r mv $'\\x80' $'\\x81'/$'\\x83'
                r mv $'\\xfd' $'\\xff'
                r ln $'caf\\xc3\\xa9' $'\\x81'/$'hard\\x84'
                r ln -s $'\\x85\\x86' $'sym\\x87'
                r readlink $'link\\xfc' $'sym\\x87'
                r rm $'lone\\xc3'
                r rm -r $'\\xe9t\\xe9'
                r mkdir $'\\xe9t\\xe9'
                r setfattr -n user.$'\\xf1' -v 0x01 $'\\x81'/$'\\x83'
                r getfattr -h -d -e hex $'\\x81'/$'\\x83'
                r rm "$(head -c 252 /dev/zero | tr '\\0' '\\375')"
                r chmod 600 "$(head -c 255 /dev/zero | tr '\\0' '\\377')"
                r touch "$(head -c 256 /dev/zero | tr '\\0' '\\376')"
                r sh -c 'ls -A | od -An -c'
                """);
        sameMergedAndUpper(p);
    }

    // ---- paths up to PATH_MAX from the mount root ----

    /** A chain of 250-byte directory names, a name of {@code last} bytes after it: {@code total} bytes in all. */
    private static final String LONG_PATHS = """
            seg=$(head -c 250 /dev/zero | tr '\\0' 'd')
            chain() { local want=$1 p=""; while [ $(( ${#p} + 251 + 6 )) -le "$want" ]; do p="$p${p:+/}$seg"; done; \
            printf '%s' "$p"; }
            D=$(chain 4095); X="$D/$(head -c $(( 4095 - ${#D} - 1 )) /dev/zero | tr '\\0' x)"
            Y="${X%?}y"
            """;

    @Test
    void pathsNearPathMax() {
        Pair p = mountBoth(LONG_PATHS + """
                D=$(chain 4000); mkdir -p "$L2/$D"; echo deep > "$L2/$D/lowerfile"; echo gone > "$L2/$D/gone"
                """);
        String log = sameOutcomes(p, LONG_PATHS + """
                r mkdir -p "$D"
                r printf '%s' "${#X} ${#Y}"
                r touch "$X"
                r sh -c "echo data > '$X'"
                r chmod 600 "$X"
                r chown 7:8 "$X"
                r truncate -s 2 "$X"
                r setfattr -n user.deep -v 1 "$X"
                r getfattr -n user.deep "$X"
                r ln "$X" "$Y"
                r rm "$Y"
                r mv "$X" "$Y"
                r mv "$Y" "$X"
                r ln -s target "$Y"
                r rm "$Y"
                r mkfifo "$Y"
                r rm "$Y"
                r mknod "$Y" c 1 3
                r rm "$Y"
                r mkdir "$Y"
                r rmdir "$Y"
                r cat "$X"
                r rm "$X"
                L=$(chain 4000)
                r chmod 600 "$L/lowerfile"
                r sh -c "echo more >> '$L/lowerfile'"
                r rm "$L/gone"
                r ls "$L"
                """);
        assertTrue(log.contains("-> 0 4095\\ 4095"), "the paths are PATH_MAX - 1 bytes");
        assertFalse(log.contains("too long"), "no ENAMETOOLONG on either side");
        sameMergedAndUpper(p);
    }

    // ---- O_DIRECT ----

    @Test
    void directIo() {
        Pair p = mountBoth("""
                head -c 65536 /dev/urandom > "$L1/lower"
                head -c 65536 /dev/urandom > "$L1/seed"
                """);
        sameOutcomes(p, """
                r dd if=seed of=f bs=4096 count=16 oflag=direct status=none
                r dd if=f of=/dev/null bs=4096 iflag=direct status=none
                r dd if=seed of=f bs=4096 count=3 skip=5 seek=2 oflag=direct conv=notrunc status=none
                r dd if=seed of=f bs=8192 count=2 skip=1 seek=7 oflag=direct conv=notrunc status=none
                r dd if=seed of=lower bs=4096 count=1 seek=3 oflag=direct conv=notrunc status=none
                r dd if=lower of=/dev/null bs=65536 iflag=direct status=none
                r dd if=seed of=g bs=1000 count=1 oflag=direct status=none
                r sh -c 'dd if=f bs=4096 iflag=direct status=none | sha256sum'
                r sha256sum f lower
                """);
        sameMergedAndUpper(p);
    }

    // ---- inode numbers ----

    /**
     * Each merged object's st_ino as which layer object has it ("l1:PATH", "upper:PATH"), so that the numbers of
     * two mounts over copies of the same layers can be compared; and where a listing's d_ino differs from st_ino.
     */
    private static SortedMap<String, String> inodeRelation(Path mount, Layers layers) {
        Map<Long, String> owner = new TreeMap<>();
        ByteTree.scan(layers.upper(), n -> false).inodes().forEach((path, ino) -> owner.put(ino, "upper:" + path));
        for (int i = layers.lowers().size() - 1; i >= 0; i--) {
            int layer = i + 1;
            ByteTree.scan(layers.lower(i), n -> false).inodes()
                    .forEach((path, ino) -> owner.put(ino, "l" + layer + ":" + path));
        }
        ByteTree merged = ByteTree.scan(mount, n -> false);
        SortedMap<String, String> out = new TreeMap<>();
        merged.inodes().forEach((path, ino) -> out.put(path, owner.getOrDefault(ino, "none")));
        for (String m : merged.dinoMismatches()) {
            out.put("d_ino " + m.substring(0, m.indexOf(':')), "differs from st_ino");
        }
        return out;
    }

    @Test
    void inodeNumbersSurviveCopyUpAndRemount() {
        Pair p = mountBoth("""
                mkdir -p "$L1/d/sub" "$L2/d" "$L2/other" "$U/d" "$U/uponly"
                for f in a b c e g h t; do echo $f > "$L1/d/$f"; done
                echo x > "$L2/d/x"; echo o > "$L2/other/o"; echo h1 > "$L1/h1"; ln "$L1/h1" "$L1/h2"
                echo u > "$U/uponly/u"
                """);
        String before = inodeRelation(p.kernel().mountPoint(), p.kl()).toString();
        assertEquals(before, inodeRelation(p.layerfs().mountPoint(), p.fl()).toString(), "before");
        sameOutcomes(p, """
                r chmod 600 d/a
                r chown 5:6 d/b
                r setfattr -n user.x -v 1 d/c
                r sh -c 'echo more >> d/e'
                r truncate -s 0 d/g
                r touch -d @1000 d/t
                r ln d/h d/h-link
                r mv d/x other/moved
                r mv other/o d/o-here
                r chmod 700 d/sub
                r chmod 600 h1
                r touch d/new
                r mkdir d/newdir
                """);
        SortedMap<String, String> kernel = inodeRelation(p.kernel().mountPoint(), p.kl());
        assertEquals(kernel, inodeRelation(p.layerfs().mountPoint(), p.fl()), "after the copy-ups");
        assertEquals("l1:d/a", kernel.get("d/a"), "the kernel keeps the lower number: " + kernel);
        p.kernel().unmount();
        p.layerfs().unmount();
        // Remounted, the numbers come from the origin records each wrote; and each upper layer, mounted by the
        // kernel, shows the same.
        LayerfsMount again = ext.mount(p.fl(), "timeout=0");
        assertEquals(kernel, inodeRelation(again.mountPoint(), p.fl()), "layerfs remounted");
        again.unmount();
        KernelOverlay kernelOnLayerfs = ext.mountKernel(p.fl());
        assertEquals(kernel, inodeRelation(kernelOnLayerfs.mountPoint(), p.fl()),
                "the kernel overlay on layerfs's upper layer");
    }

    // ---- programs and tools ----

    @Test
    void aSetuidProgramRunsWithItsOwnersPrivileges() {
        Pair p = mountBoth("""
                cp /usr/bin/id "$L1/suid-id"; chown 0:0 "$L1/suid-id"; chmod 4755 "$L1/suid-id"
                """);
        String log = sameOutcomes(p, """
                r setpriv --reuid=2000 --regid=2000 --clear-groups ./suid-id -u
                """);
        assertTrue(log.contains("-> 0 0"), "the effective uid is the owner's (root): " + log);
        String options = MountInfo.at(p.layerfs().mountPoint()).orElseThrow().mountOptions();
        assertFalse(options.contains("nosuid") || options.contains("nodev"), options);
    }

    @Test
    void chmodAndChownRecursivelyOverALowerTree() {
        Pair p = mountBoth("""
                for i in $(seq 1 12); do for j in $(seq 1 12); do
                  mkdir -p "$L2/tree/d$i/e$j"; echo $i$j > "$L2/tree/d$i/e$j/f"; ln -s f "$L2/tree/d$i/e$j/l"
                done; done
                chmod -R a-w "$L2/tree"
                """);
        sameOutcomes(p, """
                r chmod -R u+w tree
                r chown -R 3:4 tree
                r chmod -R go-rx tree
                r find tree -type f -newer tree -name nothing
                r du -s --apparent-size tree
                """);
        sameMergedAndUpper(p);
    }
}
