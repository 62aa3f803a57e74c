package dev.layerfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The kernel overlay's optional features (issue 13), each compared with the kernel overlay mounted with the same
 * options on identical copies of the layers; then each upper layer mounted by the other (kernel on what layerfs
 * wrote, layerfs on what the kernel wrote), which must show the same view: the on-disk format is the kernel's.
 */
class KernelFeaturesTest {
    @RegisterExtension
    final MountExtension ext = new MountExtension();

    /** Every command's exit code and output, names shown by bash's %q. */
    private static final String LOG = """
            r() { local out rc; out=$("$@" 2>&1); rc=$?; printf '%q ' "$@"; printf -- '-> %d %q\\n' "$rc" "$out"; }
            """;

    /** What the upper layers are compared on besides the objects: the overlay's markers (not origin handles). */
    private static final Predicate<String> MARKERS = n -> n.startsWith("user.")
            || n.equals("trusted.overlay.redirect") || n.equals("trusted.overlay.opaque")
            || n.equals("trusted.overlay.impure") || n.equals("trusted.overlay.metacopy")
            || n.equals("trusted.overlay.nlink");

    private record Both(KernelOverlay kernel, LayerfsMount layerfs, Layers kl, Layers fl, String options) {}

    private Both mount(String setup, String options) {
        Layers base = ext.layers("base", 2);
        Sh.bash("set -e\n" + setup, ext.root(), Map.of("L1", base.lower(0).toString(), "L2",
                base.lower(1).toString(), "U", base.upper().toString())).assertOk();
        Layers kl = base.copyTo(ext.root().resolve("kernel"));
        Layers fl = base.copyTo(ext.root().resolve("layerfs"));
        return new Both(ext.mountKernel(kl, options), ext.mount(fl, "timeout=0", options), kl, fl, options);
    }

    private static String run(Path where, String script) {
        return Sh.bash(LOG + script, where, Map.of()).stdout();
    }

    private static String same(Both b, String script) {
        String k = run(b.kernel().mountPoint(), script);
        assertEquals(k, run(b.layerfs().mountPoint(), script), "the outcomes of the same commands (kernel, layerfs)");
        return k;
    }

    private static void sameTrees(String what, Path kernel, Path layerfs, Predicate<String> xattrs) {
        assertEquals(List.of(), ByteTree.diff(ByteTree.scan(kernel, xattrs).objects(),
                ByteTree.scan(layerfs, xattrs).objects()), what + " (kernel, layerfs)");
    }

    /**
     * The merged views and inode relations match; then, unmounted, the upper layers match with the overlay's
     * markers; then each stack is mounted by the other implementation and shows what the kernel showed.
     */
    private void sameEverywhere(Both b) {
        Predicate<String> user = n -> n.startsWith("user.");
        sameTrees("the merged trees", b.kernel().mountPoint(), b.layerfs().mountPoint(), user);
        SortedMap<String, String> numbers = BytesPathsAndNumbersTest.inodeRelation(b.kernel().mountPoint(), b.kl());
        assertEquals(numbers, BytesPathsAndNumbersTest.inodeRelation(b.layerfs().mountPoint(), b.fl()),
                "inode numbers (st_ino, and d_ino against st_ino: ls -i against stat)");
        ByteTree view = ByteTree.scan(b.kernel().mountPoint(), user);
        b.kernel().unmount();
        b.layerfs().unmount();
        sameTrees("the upper layers", b.kl().upper(), b.fl().upper(), MARKERS);

        KernelOverlay kernelOnLayerfs = ext.mountKernel(b.fl(), b.options());
        assertEquals(List.of(), ByteTree.diff(view.objects(), ByteTree.scan(kernelOnLayerfs.mountPoint(), user)
                .objects()), "the kernel overlay on the layers layerfs wrote");
        assertEquals(numbers, BytesPathsAndNumbersTest.inodeRelation(kernelOnLayerfs.mountPoint(), b.fl()),
                "inode numbers, kernel on layerfs's layers");
        kernelOnLayerfs.unmount();
        LayerfsMount layerfsOnKernel = ext.mount(b.kl(), "timeout=0", b.options());
        assertEquals(List.of(), ByteTree.diff(view.objects(), ByteTree.scan(layerfsOnKernel.mountPoint(), user)
                .objects()), "layerfs on the layers the kernel wrote");
        assertEquals(numbers, BytesPathsAndNumbersTest.inodeRelation(layerfsOnKernel.mountPoint(), b.kl()),
                "inode numbers, layerfs on the kernel's layers");
        layerfsOnKernel.unmount();
    }

    private static final String TREE = """
            mkdir -p "$L1/a/sub/deeper" "$L2/a/sub" "$L2/other" "$L1/empty"
            echo g > "$L1/a/g"; echo f > "$L1/a/sub/f"; echo d > "$L1/a/sub/deeper/d"
            echo two > "$L2/a/two"; echo s2 > "$L2/a/sub/s2"; echo o > "$L2/other/o"
            mkdir -p "$U/a"; echo u > "$U/a/u"
            """;

    // ---- redirect_dir ----

    @Test
    void aLowerTreeRenamedThenCopiedUpInside() {
        Both b = mount(TREE, "redirect_dir=on");
        String log = same(b, """
                r mv a b
                r cat b/g b/two b/u b/sub/f b/sub/s2
                r sh -c 'echo more >> b/sub/f'
                r chmod 600 b/sub/deeper/d
                r mkdir n
                r mv b n/c
                r mv n/c/sub s
                r mv other n/c/other2
                r touch n/c/new s/new
                r rm n/c/g
                r mv s s-again
                r sh -c 'ls -A . n n/c s-again s-again/deeper n/c/other2'
                r cat s-again/f n/c/other2/o
                r rmdir empty
                r stat -c '%F %a %h' n/c s-again
                """);
        assertTrue(log.contains("mv a b -> 0"), log);
        assertTrue(log.contains("more"), log);
        sameEverywhere(b);
    }

    @Test
    void directoriesReplacingEmptyLowerDirectories() {
        Both b = mount(TREE + """
                mkdir -p "$L1/p" "$L2/q" "$L1/e1" "$L2/e2"; echo p > "$L1/p/1"; echo q > "$L2/q/2"
                """, "redirect_dir=on");
        // (RENAME_EXCHANGE does not reach layerfs through FUSE yet, see Allowed.RENAME2_FLAGS: core tests it.)
        same(b, """
                r mv -T p q
                r mv p/1 q/1
                r mv -T p q
                r ls -A . q
                r mv a e1
                r mv -T e2 e1
                r mkdir full
                r touch full/y
                r mv -T e2 full
                r stat -c '%F %h' e2
                r ls -A . e1
                r mv other a
                r ls -A a
                """);
        sameEverywhere(b);
    }

    @Test
    void withoutRedirectDirMvCopiesAndTheLayersHaveNoRedirects() {
        Both b = mount(TREE, "redirect_dir=off");
        String log = same(b, """
                r python3 -c 'import os
                try: os.rename("a", "b"); print("renamed")
                except OSError as e: print(e.strerror)'
                r mv a b
                r ls -A b
                """);
        assertTrue(log.contains("cross-device"), log);
        sameEverywhere(b);
    }

    @Test
    void nofollowRefusesWhatRedirectDirOnWrote() {
        Both b = mount(TREE, "redirect_dir=on");
        same(b, "r mv a b\nr mv other n\n");
        b.kernel().unmount();
        b.layerfs().unmount();
        KernelOverlay kernel = ext.mountKernel(b.kl(), "redirect_dir=nofollow");
        LayerfsMount layerfs = ext.mount(b.fl(), "timeout=0", "redirect_dir=nofollow");
        // (ls of the root differs in where the EPERM comes: the kernel's getdents, layerfs's opendir.)
        String script = "r stat -c %F b\nr ls n\nr cat n/o\n";
        String k = run(kernel.mountPoint(), script);
        assertEquals(k, run(layerfs.mountPoint(), script), "nofollow (kernel, layerfs)");
        assertTrue(k.contains("permitted"), k);
    }

    // ---- metacopy ----

    private static final String FILES = """
            mkdir -p "$L1/d" "$L2/d"
            head -c 300000 /dev/urandom > "$L1/big"; echo gee > "$L1/g"; echo h > "$L2/d/h"
            touch -d @1000000 "$L1/big"
            """;

    @Test
    void statBeforeAndAfterAChmodAndAfterARemount() {
        Both b = mount(FILES, "metacopy=on");
        String stat = "r stat -c '%s %b %a %h %u:%g %Y' big g d/h\n";
        same(b, stat + """
                r chmod 600 big
                r chown 5:6 g
                r touch -d @1000 d/h
                r setfattr -n user.k -v v d/h
                """ + stat + """
                r getfattr -d d/h
                r sh -c 'sha256sum big g d/h'
                """);
        // The upper copies hold metadata only: no data blocks (at most the xattrs' block), the kernel's empty marker.
        String upperCopy = "stat -c '%s %b' big; getfattr -h -n trusted.overlay.metacopy --only-values big | wc -c";
        String kernelCopy = Sh.bash(upperCopy, b.kl().upper(), Map.of()).assertOk().stdout();
        assertEquals(kernelCopy, Sh.bash(upperCopy, b.fl().upper(), Map.of()).assertOk().stdout(), "upper copies");
        String[] sizeBlocks = kernelCopy.split("\n")[0].split(" ");
        assertEquals("300000", sizeBlocks[0]);
        assertTrue(Long.parseLong(sizeBlocks[1]) <= 8, "metadata only: " + kernelCopy);
        b.kernel().unmount();
        b.layerfs().unmount();
        KernelOverlay kernel = ext.mountKernel(b.kl(), "metacopy=on");
        LayerfsMount layerfs = ext.mount(b.fl(), "timeout=0", "metacopy=on");
        // (After the data came up, st_blocks may differ by the block ext4 keeps for the copy's xattrs: the kernel's
        // allocation and layerfs's are not the same there; the data and every other attribute are.)
        String script = stat + """
                r sh -c 'echo more >> g'
                r truncate -s 100 d/h
                r sh -c ': >> big'
                r stat -c '%s %a %h %u:%g' big g d/h
                r sh -c 'sha256sum big g d/h'
                """;
        String k = run(kernel.mountPoint(), script);
        assertEquals(k, run(layerfs.mountPoint(), script), "remounted, then data copied up (kernel, layerfs)");
        kernel.unmount();
        layerfs.unmount();
        sameTrees("the upper layers", b.kl().upper(), b.fl().upper(), MARKERS);
    }

    @Test
    void metadataOnlyCopiesRenamedAndLinked() {
        Both b = mount(FILES, "metacopy=on");
        same(b, """
                r chmod 640 big
                r mv big big2
                r mkdir n
                r mv big2 n/big3
                r ln g g2
                r stat -c '%h %a' g g2 n/big3
                r sh -c 'sha256sum n/big3 g2'
                r sh -c 'echo more >> g2'
                r cat g
                r mv d/h n/h
                r ls -A . n d
                """);
        sameEverywhere(b);
    }

    // ---- index ----

    private static final String LINKS = """
            mkdir -p "$L1/d" "$L2/e"
            echo hello > "$L1/d/a"; ln "$L1/d/a" "$L1/d/b"; ln "$L1/d/a" "$L1/d/c"
            echo two > "$L2/e/x"; ln "$L2/e/x" "$L2/e/y"
            echo one > "$L1/single"; echo other > "$L1/d/other"
            """;

    private static final String HARD_LINK_SCRIPT = """
            r stat -c '%n %h %s' d/a d/b d/c e/x e/y single
            r sh -c 'echo more >> d/a'
            r cat d/b d/c
            r chmod 600 e/y
            r stat -c '%n %a %h' e/x e/y
            r ln d/b d/e
            r stat -c '%n %h' d/a d/b d/c d/e
            r rm d/c
            r mv d/b moved
            r mv d/other d/e
            r stat -c '%n %h %s' d/a moved d/e
            r sh -c 'echo again >> moved'
            r cat d/a e/x
            r mv e/x e/y
            r ls -A . d e
            """;

    /** The index directories: as many entries, with the same link counts. */
    private static void sameIndexes(Both b) {
        // (The names are the lower objects' handles, which differ between the copies of the layers.)
        String list = "cd index && for f in *; do [ -e \"$f\" ] && stat -c '%h %F' \"$f\"; done | sort; true";
        assertEquals(Sh.bash(list, b.kl().work(), Map.of()).assertOk().stdout(),
                Sh.bash(list, b.fl().work(), Map.of()).assertOk().stdout(), "the index directories (kernel, layerfs)");
    }

    @Test
    void lowerHardLinksStayOneFileThroughCopyUp() {
        Both b = mount(LINKS, "index=on");
        String log = same(b, HARD_LINK_SCRIPT);
        assertTrue(log.contains("hello\\nmore\\nhello\\nmore"), log);
        sameEverywhere(b);
        sameIndexes(b);
    }

    @Test
    void lowerHardLinksWithEveryFeature() {
        Both b = mount(LINKS, "index=on,redirect_dir=on,metacopy=on,xino=on");
        same(b, HARD_LINK_SCRIPT + """
                r mv d dd
                r chown 7:8 dd/a
                r stat -c '%n %h %u:%g' dd/a moved
                """);
        sameEverywhere(b);
        sameIndexes(b);
    }

    @Test
    void aLowerLayerOfAnotherUpperIsRefusedWithIndex() {
        Both b = mount(LINKS, "index=on");
        same(b, "r sh -c 'echo more >> d/a'\n");
        b.kernel().unmount();
        b.layerfs().unmount();
        // The layers swapped: each upper layer now sits on the other lower layer.
        Layers kernelSwapped = b.kl().withLowers(List.of(b.kl().lower(1), b.kl().lower(0)));
        Layers layerfsSwapped = b.fl().withLowers(List.of(b.fl().lower(1), b.fl().lower(0)));
        Sh.Result k = Sh.run("mount", "-t", "overlay", "overlay", "-o", kernelSwapped.options() + ",index=on",
                kernelSwapped.mnt().toString());
        if (k.exitCode() == 0) {
            Unmounter.unmount(kernelSwapped.mnt());
        }
        assertTrue(k.exitCode() != 0, "the kernel overlay refuses: " + k);
        MountExtension.Launch l = ext.launch(layerfsSwapped.mnt(), "-o", layerfsSwapped.options() + ",index=on",
                layerfsSwapped.mnt().toString());
        assertTrue(l.exitCode() != 0, "layerfs refuses: " + l.result());
        assertTrue(l.stderrLines().stream().anyMatch(line -> line.contains("failed to verify upper root origin")),
                l.stderrLines().toString());
    }

    // ---- xino ----

    /** Copies of the upper layer for each implementation, over the very same lower layers. */
    private Layers sharingLowers(Layers base, String name) {
        try {
            Path root = Files.createDirectories(ext.root().resolve(name));
            Path upper = root.resolve("upper");
            Sh.ok("cp", "-a", "--", base.upper().toString(), upper.toString());
            return new Layers(root, base.lowers(), Optional.of(upper),
                    Optional.of(Files.createDirectory(root.resolve("work"))),
                    Files.createDirectory(root.resolve("mnt")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void inodeNumbersAcrossFilesystemsAreTheKernels() {
        Layers base = ext.layers("base", 2);
        ext.mountTmpfs(base.lower(0));
        Sh.bash("set -e\n" + LINKS + TREE, ext.root(), Map.of("L1", base.lower(0).toString(), "L2",
                base.lower(1).toString(), "U", base.upper().toString())).assertOk();
        for (String options : List.of("xino=on", "xino=auto,index=on", "xino=on,index=on,redirect_dir=on,metacopy=on")) {
            Layers kl = sharingLowers(base, "kernel-" + options.replace(',', '-').replace('=', '_'));
            Layers fl = sharingLowers(base, "layerfs-" + options.replace(',', '-').replace('=', '_'));
            Both b = new Both(ext.mountKernel(kl, options), ext.mount(fl, "timeout=0", options), kl, fl, options);
            // Numbers of objects with lower content: the same on both, the lower's filesystem in the top bits.
            // (The upper layers are copies: their own numbers differ, and are shown as "upper".)
            String numbers = """
                    export UP=$(find ../upper ../work -xdev -printf '%i\\n' | sort -u | paste -sd'|')
                    r sh -c 'stat -c "%n %i %h" d d/a d/b a a/g a/sub a/sub/f a/two e/x single | sed -E "s/\\\\b($UP)\\\\b/upper/g"'
                    r sh -c 'ls -i d a a/sub e | sed -E "s/\\\\b($UP)\\\\b/upper/g"'
                    """;
            String log = same(b, numbers + """
                    r sh -c 'echo more >> d/a'
                    r sh -c 'echo more >> a/g'
                    r chmod 600 a/two a/sub/f
                    r touch a/sub
                    """ + numbers);
            assertTrue(log.contains("d/a " + Long.toUnsignedString(1L << 63 | inode(base.lower(0).resolve("d/a")))),
                    log);
            sameEverywhere(b);
        }
    }

    private static long inode(Path p) {
        try {
            return (Long) Files.getAttribute(p, "unix:ino");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
