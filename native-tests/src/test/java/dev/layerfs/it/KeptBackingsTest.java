package dev.layerfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The passthrough backings the kernel transport keeps after a node's last close, so that the next open of the
 * same file needs no ioctl: every open still reads what the file holds now (after a write through another
 * descriptor, a copy-up, an unlink and a new file under the same name, a rename over it), a descriptor opened on
 * a kept backing still stats, changes, reads, syncs and seeks its file after the name is removed, a removed
 * file's space is freed at once, the kept set stays within its cap, and an unmount lets go of every file. Behaviour is compared
 * with the kernel overlay over copies of the same layers; the backings registered and closed are counted in the
 * daemon's {@code -d} log.
 */
class KeptBackingsTest {
    @RegisterExtension
    final MountExtension ext = new MountExtension();

    /** A lower file and an upper file of 1 MiB each, a lower file to rename, a directory in the upper layer. */
    private static final String SETUP = """
            set -e
            python3 -c '
            import sys
            data = bytes((i * 7 + i // 4096) % 251 for i in range(1 << 20))
            open(sys.argv[1] + "/lower", "wb").write(data)
            open(sys.argv[1] + "/moved", "wb").write(b"lower file to move")
            open(sys.argv[2] + "/upper", "wb").write(data[::-1])
            ' "$L" "$U"
            mkdir "$U/dir"
            """;

    /**
     * Opens the same files again and again around each change that gives a name other contents or another real
     * file: a write through another descriptor, a copy-up by an append after read-only opens (with a descriptor
     * still open from before), an unlink and a new file under the name, a rename over the name, a rename that
     * copies a lower file up. Prints what each open reads.
     */
    private static final String REOPENS = """
            import hashlib, os, sys
            m = sys.argv[1]
            def p(n): return os.path.join(m, n)
            def read(n):
                with open(p(n), 'rb') as f:
                    return f.read()
            def show(*what): print(*what)
            for i in range(3):
                show('upper', i, read('upper')[:8])
                with open(p('upper'), 'r+b') as w:
                    w.write(b'round %d' % i)
                show('upper written', i, read('upper')[:8])
            for i in range(3):
                show('lower', hashlib.sha256(read('lower')).hexdigest())
            ro = os.open(p('lower'), os.O_RDONLY)
            with open(p('lower'), 'ab') as a:
                a.write(b'appended')
            data = read('lower')
            show('lower appended', data[-8:], len(data))
            show('old descriptor', os.pread(ro, 8, 1 << 20), os.fstat(ro).st_size)
            os.close(ro)
            for i in range(3):
                show('lower reopened', read('lower')[-8:])
            with open(p('dir/f'), 'wb') as f:
                f.write(b'first')
            for i in range(3):
                show('dir/f', read('dir/f'))
            os.unlink(p('dir/f'))
            with open(p('dir/f'), 'wb') as f:
                f.write(b'second')
            for i in range(3):
                show('dir/f recreated', read('dir/f'))
            for n, d in (('dir/a', b'AAAA'), ('dir/b', b'BBBB')):
                with open(p(n), 'wb') as f:
                    f.write(d)
            for i in range(2):
                show('a and b', read('dir/a'), read('dir/b'))
            os.rename(p('dir/b'), p('dir/a'))
            for i in range(2):
                show('b over a', read('dir/a'))
            with open(p('dir/a'), 'ab') as f:
                f.write(b'+')
            show('b over a appended', read('dir/a'))
            for i in range(2):
                show('moved', read('moved'))
            os.rename(p('moved'), p('dir/moved'))
            with open(p('dir/moved'), 'ab') as f:
                f.write(b' and written')
            for i in range(2):
                show('moved and written', read('dir/moved'))
            for how in ('unlink', 'rename over'):
                with open(p('dir/g'), 'wb') as f:
                    f.write(b'g' * 5000)
                read('dir/g')
                fd = os.open(p('dir/g'), os.O_RDONLY)
                if how == 'unlink':
                    os.unlink(p('dir/g'))
                else:
                    with open(p('dir/h'), 'wb') as f:
                        f.write(b'h')
                    os.rename(p('dir/h'), p('dir/g'))
                st = os.fstat(fd)
                show(how, 'removed', st.st_size, st.st_nlink, oct(st.st_mode))
                os.fchmod(fd, 0o600)
                show(how, 'fchmod', oct(os.fstat(fd).st_mode), os.pread(fd, 4, 100))
                os.fsync(fd)
                show(how, 'seek', os.lseek(fd, 0, os.SEEK_DATA), os.lseek(fd, 0, os.SEEK_HOLE))
                os.close(fd)
                show(how, 'name now', os.path.exists(p('dir/g')) and read('dir/g'))
            """;

    private Layers layers(String name) {
        Layers l = ext.layers(name, 1);
        Sh.bash(SETUP, ext.root(), Map.of("L", l.lower(0).toString(), "U", l.upper().toString())).assertOk();
        return l;
    }

    private static String python(Path root, String script) {
        return Sh.run(List.of("python3", "-c", script, root.toString()), Map.of(), null, Sh.DEFAULT_TIMEOUT)
                .assertOk().stdout();
    }

    /** The script's output on the kernel overlay and on layerfs with these options; the lower layer unchanged. */
    private String[] both(String name, String script, String... options) {
        Layers kl = layers(name + "-kernel");
        Layers fl = layers(name + "-layerfs");
        SortedMap<String, Tree.Node> lowerBefore = Tree.scan(fl.lower(0), n -> true);
        KernelOverlay kernel = ext.mountKernel(kl);
        String[] opts = new String[options.length + 1];
        opts[0] = "transport=kernel";
        System.arraycopy(options, 0, opts, 1, options.length);
        LayerfsMount layerfs = ext.mount(fl, opts);
        String expected = python(kernel.mountPoint(), script);
        String actual = python(layerfs.mountPoint(), script);
        Tree.assertSame("the lower layer after the script", lowerBefore, Tree.scan(fl.lower(0), n -> true),
                Tree.STRUCTURE);
        return new String[] {expected, actual};
    }

    @Test
    void repeatedOpensReadWhatTheFileHoldsNowAsOnTheKernelOverlay() {
        String[] out = both("reopens", REOPENS);
        assertEquals(out[0], out[1], "the outputs of the same script (kernel overlay, layerfs)");
        assertTrue(out[1].contains("b over a appended b'BBBB+'"), out[1]);
    }

    /**
     * With {@code passthrough=all} lower files have backings too, kept like the others: never reused for the upper
     * copy (the append lands in the upper layer, every later open reads it). The descriptor opened before the
     * copy-up keeps reading the lower file, the documented difference of that mode, so its line is left out.
     */
    @Test
    void aKeptLowerBackingIsNeverUsedForTheUpperCopy() {
        String[] out = both("reopens-all", REOPENS, "passthrough=all");
        assertEquals(withoutOldDescriptor(out[0]), withoutOldDescriptor(out[1]),
                "the outputs of the same script (kernel overlay, layerfs passthrough=all)");
        assertTrue(out[1].contains("lower reopened b'appended'"), out[1]);
    }

    private static String withoutOldDescriptor(String out) {
        return out.lines().filter(l -> !l.startsWith("old descriptor")).collect(Collectors.joining("\n"));
    }

    /**
     * A 3 MiB file in a 4 MiB upper file system, opened a few times (its backing kept), then removed (by unlink,
     * then by a rename over it): its space is free at once, so another file as big can be written, as on the
     * kernel overlay.
     */
    private static final String SPACE = """
            import os, sys
            m = sys.argv[1]
            def p(n): return os.path.join(m, n)
            def used():
                s = os.statvfs(m + '/../upper')
                return (s.f_blocks - s.f_bfree) * s.f_frsize
            big = b'x' * (3 << 20)
            for how in ('unlink', 'rename over', 'unlink again'):
                with open(p('big'), 'wb') as f:
                    f.write(big)
                for i in range(3):
                    with open(p('big'), 'rb') as f:
                        assert f.read() == big
                if how == 'rename over':
                    with open(p('small'), 'wb') as f:
                        f.write(b'small')
                before = used()
                if how == 'rename over':
                    os.rename(p('small'), p('big'))
                else:
                    os.unlink(p('big'))
                print(how, 'freed', before - used() >= (3 << 20))
            """;

    private Layers tmpfsLayers(String name) {
        Path dir = ext.dir(name);
        ext.mountTmpfs(dir);
        return Layers.create(dir.resolve("layers"), 1);
    }

    @Test
    void removingAFileWithAKeptBackingFreesItsSpaceAtOnce() {
        Layers kl = tmpfsLayers("space-kernel");
        Layers fl = tmpfsLayers("space-layerfs");
        KernelOverlay kernel = ext.mountKernel(kl);
        LayerfsMount layerfs = ext.mount(fl, "transport=kernel");
        String expected = python(kernel.mountPoint(), SPACE);
        assertEquals(expected, python(layerfs.mountPoint(), SPACE), "kernel overlay, layerfs");
        assertTrue(expected.contains("rename over freed True"), expected);
    }

    @Test
    void anUnmountLetsGoOfEveryFile() {
        Layers l = tmpfsLayers("unmount");
        LayerfsMount m = ext.mount(l, "transport=kernel");
        python(m.mountPoint(), """
                import os, sys
                with open(os.path.join(sys.argv[1], 'big'), 'wb') as f:
                    f.write(b'x' * (3 << 20))
                for i in range(3):
                    with open(os.path.join(sys.argv[1], 'big'), 'rb') as f:
                        f.read()
                """);
        m.unmount();
        // Removed from the upper layer itself: its space comes back only if no backing holds the file.
        String out = python(l.upper(), """
                import os, sys
                s = os.statvfs(sys.argv[1])
                before = s.f_blocks - s.f_bfree
                os.unlink(os.path.join(sys.argv[1], 'big'))
                s = os.statvfs(sys.argv[1])
                print('freed', (before - (s.f_blocks - s.f_bfree)) * s.f_frsize >= (3 << 20))
                """);
        assertEquals("freed True\n", out);
    }

    private static final Pattern REGISTERED = Pattern.compile("backing (\\d+) registered for node");
    private static final Pattern CLOSED = Pattern.compile("backing (\\d+) closed");

    private static long count(String log, Pattern p) {
        Matcher m = p.matcher(log);
        long n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }

    /**
     * More files than the cap (4,096 kept ids), each created and then opened once: the backings kept never
     * outnumber the cap; the files opened last are opened again with no new backing; the unmount closes every
     * backing that was registered.
     */
    @Test
    void theKeptBackingsStayWithinTheirCapAndTheUnmountClosesThemAll() {
        Layers l = ext.layers("cap", 1);
        MountExtension.Foreground f = ext.startForeground(l.mnt(), "-d", "-o",
                l.options() + ",transport=kernel", l.mnt().toString());
        int files = 4_400;
        python(l.mnt(), """
                import os, sys
                d = os.path.join(sys.argv[1], 'many')
                os.mkdir(d)
                for i in range(%d):
                    with open(os.path.join(d, str(i)), 'wb') as f:
                        f.write(b'%%d' %% i)
                for i in range(%d):
                    with open(os.path.join(d, str(i)), 'rb') as f:
                        assert f.read() == b'%%d' %% i
                """.formatted(files, files));
        String log = f.log();
        long registered = count(log, REGISTERED);
        long kept = registered - count(log, CLOSED);
        assertTrue(registered >= files, "every file was passed through: " + registered);
        assertTrue(kept <= 4096, "kept: " + kept);
        assertTrue(kept >= 4000, "the most recent ones are kept: " + kept);
        python(l.mnt(), """
                import os, sys
                d = os.path.join(sys.argv[1], 'many')
                for i in range(%d, %d):
                    with open(os.path.join(d, str(i)), 'rb') as f:
                        assert f.read() == b'%%d' %% i
                """.formatted(files - 1000, files));
        assertEquals(registered, count(f.log(), REGISTERED), "the last 1,000 files reopened on their kept backings");
        f.unmount();
        assertEquals(0, f.awaitExit(Duration.ofSeconds(30)));
        log = f.log();
        assertEquals(count(log, REGISTERED), count(log, CLOSED), "every backing closed by the unmount");
    }
}
