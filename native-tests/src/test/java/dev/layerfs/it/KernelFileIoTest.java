package dev.layerfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * File data on the kernel transport: FUSE passthrough (the kernel reads and writes upper-layer files itself: no
 * READ or WRITE request reaches the daemon, counted in its {@code -d} log), the copy-up of a file open read-only
 * on a lower layer (the write lands in the upper copy, never in the lower layer, and the earlier descriptor sees
 * it as on the kernel overlay), mmap, SEEK_DATA and SEEK_HOLE, copy_file_range, and the attributes of a file
 * changed through its descriptor after its name is gone. Each script runs on the kernel overlay and on layerfs
 * over copies of the same layers, and their outputs must be the same.
 */
class KernelFileIoTest {
    @RegisterExtension
    final MountExtension ext = new MountExtension();

    /**
     * The layers: a lower file and an upper file of 1 MiB each (bytes from a fixed pattern), a sparse lower file
     * (4 MiB with data from 1 MiB to 2 MiB only: the kernel overlay copies up by 1 MiB chunks, skipping holes,
     * so its copy has the same holes as layerfs's), an empty directory in the upper layer.
     */
    private static final String SETUP = """
            set -e
            python3 -c '
            import sys
            data = bytes((i * 7 + i // 4096) % 251 for i in range(1 << 20))
            open(sys.argv[1] + "/lower", "wb").write(data)
            open(sys.argv[2] + "/upper", "wb").write(data[::-1])
            ' "$L" "$U"
            truncate -s 4M "$L/sparse"
            head -c 1M /dev/zero | tr '\\0' d | dd of="$L/sparse" bs=1M seek=1 conv=notrunc status=none
            mkdir "$U/dir"
            """;

    private Layers layers(String name) {
        Layers l = ext.layers(name, 1);
        Sh.bash(SETUP, ext.root(), Map.of("L", l.lower(0).toString(), "U", l.upper().toString())).assertOk();
        return l;
    }

    /** Runs a Python script with the mount point as sys.argv[1]; its output. */
    private static String python(Path root, String script) {
        Sh.Result r = Sh.run(List.of("python3", "-c", script, root.toString()), Map.of(), null,
                Sh.DEFAULT_TIMEOUT);
        r.assertOk();
        return r.stdout();
    }

    /**
     * The same script on the kernel overlay and on layerfs (kernel transport, with more options), each over its
     * own copy of the layers: the outputs must match, and the lower layer of layerfs must be unchanged.
     */
    private String differential(String name, String script, String... options) {
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
        assertEquals(expected, actual, "the outputs of the same script (kernel overlay, layerfs)");
        Tree.assertSame("the lower layer after the script", lowerBefore, Tree.scan(fl.lower(0), n -> true),
                Tree.STRUCTURE);
        return actual;
    }

    /** A mount in the foreground with -d, whose log lists every request. */
    private MountExtension.Foreground debugMount(Layers l, String... options) {
        StringBuilder o = new StringBuilder(l.options()).append(",transport=kernel");
        for (String option : options) {
            o.append(',').append(option);
        }
        return ext.startForeground(l.mnt(), "-d", "-o", o.toString(), l.mnt().toString());
    }

    /** How many requests of one opcode the daemon has logged so far. */
    private static long requests(MountExtension.Foreground f, String opcode) {
        String marker = " " + opcode + " unique ";
        return f.log().lines().filter(line -> line.contains(marker)).count();
    }

    private static final String READ_AND_MAP = """
            import hashlib, mmap, os, sys
            p = os.path.join(sys.argv[1], sys.argv[2])
            with open(p, 'rb') as f:
                read = hashlib.sha256(f.read()).hexdigest()
            with open(p, 'rb') as f, mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as m:
                mapped = hashlib.sha256(m[:]).hexdigest()
            print(read, mapped)
            """;

    private static String readAndMap(Path mnt, String name) {
        return Sh.run(List.of("python3", "-c", READ_AND_MAP, mnt.toString(), name), Map.of(), null,
                Sh.DEFAULT_TIMEOUT).assertOk().stdout();
    }

    private static String sha256Twice(Path real) {
        try {
            String sum = Tree.sha256(real);
            return sum + " " + sum + "\n";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void theKernelReadsAndWritesUpperFilesItselfAndTheDaemonServesLowerFiles() {
        Layers l = layers("counts");
        MountExtension.Foreground f = debugMount(l);
        Path mnt = l.mnt();

        long reads = requests(f, "READ");
        assertEquals(sha256Twice(l.upper().resolve("upper")), readAndMap(mnt, "upper"));
        assertEquals(reads, requests(f, "READ"), "read(2) and mmap of an upper file: no READ request");

        long writes = requests(f, "WRITE");
        python(mnt, """
                import mmap, os, sys
                fd = os.open(os.path.join(sys.argv[1], 'upper'), os.O_RDWR)
                os.pwrite(fd, b'written by pwrite', 0)
                with mmap.mmap(fd, 0) as m:
                    m[100:117] = b'written by mmap!!'
                    m.flush()
                os.close(fd)
                """);
        assertEquals(writes, requests(f, "WRITE"), "pwrite and a shared mapping of an upper file: no WRITE");
        byte[] upper = readBytes(l.upper().resolve("upper"));
        assertEquals("written by pwrite", new String(upper, 0, 17));
        assertEquals("written by mmap!!", new String(upper, 100, 17));

        reads = requests(f, "READ");
        assertEquals(sha256Twice(l.lower(0).resolve("lower")), readAndMap(mnt, "lower"));
        assertTrue(requests(f, "READ") > reads, "a lower file of a writable stack is served with READ requests");

        long writesBefore = requests(f, "WRITE");
        python(mnt, """
                import os, sys
                with open(os.path.join(sys.argv[1], 'dir/new'), 'wb') as f:
                    f.write(b'x' * 300000)
                """);
        assertEquals(writesBefore, requests(f, "WRITE"), "a created file is on the upper layer: passed through");
        assertEquals(300000, readBytes(l.upper().resolve("dir/new")).length);
    }

    @Test
    void withPassthroughOffEveryReadIsARequest() {
        Layers l = layers("off");
        MountExtension.Foreground f = debugMount(l, "passthrough=off");
        long reads = requests(f, "READ");
        assertEquals(sha256Twice(l.upper().resolve("upper")), readAndMap(l.mnt(), "upper"));
        assertTrue(requests(f, "READ") > reads, "passthrough=off: an upper file is served");
    }

    @Test
    void aReadOnlyStackPassesLowerFilesThrough() {
        Layers l = layers("readonly").withoutUpper();
        MountExtension.Foreground f = debugMount(l);
        long reads = requests(f, "READ");
        assertEquals(sha256Twice(l.lower(0).resolve("lower")), readAndMap(l.mnt(), "lower"));
        assertEquals(reads, requests(f, "READ"), "nothing can be copied up: lower files are passed through");
    }

    /**
     * A layer that lies on a kernel overlay: the mount asks for max_stack_depth 2 (at 1 the kernel refuses the
     * overlay's files as backings, ELOOP), so its files are still passed through.
     */
    @Test
    void aLayerOnAnOverlayIsPassedThroughAtStackDepthTwo() {
        Layers inner = layers("inner");
        KernelOverlay overlay = ext.mountKernel(inner);
        Layers outer = ext.layers("outer", 1).withLowers(List.of(overlay.mountPoint()));
        MountExtension.Foreground f = debugMount(outer, "passthrough=all");
        long reads = requests(f, "READ");
        assertEquals(sha256Twice(inner.lower(0).resolve("lower")), readAndMap(outer.mnt(), "lower"));
        assertEquals(reads, requests(f, "READ"), "a file of the overlay layer is passed through");
        assertTrue(f.log().contains("max_stack_depth 2"), f.log());
    }

    /** A descriptor open read-only on a lower file, then an open for writing (a copy-up) and a write. */
    private static final String COPY_UP_UNDER_AN_OPEN_DESCRIPTOR = """
            import mmap, os, sys
            p = os.path.join(sys.argv[1], 'lower')
            ro = os.open(p, os.O_RDONLY)
            print('before', os.pread(ro, 16, 0))
            rw = os.open(p, os.O_RDWR)
            os.pwrite(rw, b'after the copy-up', 0)
            print('read-write', os.pread(rw, 17, 0))
            print('read-only', os.pread(ro, 17, 0))
            print('new open', open(p, 'rb').read(17))
            print('sizes', os.fstat(ro).st_size, os.fstat(rw).st_size, os.stat(p).st_size)
            os.close(ro)
            os.close(rw)
            print('reopened', open(p, 'rb').read(17))
            """;

    @Test
    void aWriteAfterAReadOnlyOpenOfALowerFileLandsInTheUpperCopyAndEveryDescriptorSeesIt() {
        String out = differential("copyup", COPY_UP_UNDER_AN_OPEN_DESCRIPTOR);
        assertTrue(out.contains("read-only b'after the copy-up'"), out);
    }

    @Test
    void passthroughAllKeepsTheLowerFileForADescriptorOpenedBeforeTheCopyUp() {
        Layers l = layers("all");
        SortedMap<String, Tree.Node> lowerBefore = Tree.scan(l.lower(0), n -> true);
        LayerfsMount m = ext.mount(l, "transport=kernel", "passthrough=all");
        String out = python(m.mountPoint(), COPY_UP_UNDER_AN_OPEN_DESCRIPTOR);
        assertTrue(out.contains("read-write b'after the copy-up'"), out);
        assertTrue(out.contains("new open b'after the copy-up'"), out);
        assertTrue(out.contains("reopened b'after the copy-up'"), out);
        assertTrue(!out.contains("read-only b'after the copy-up'"),
                "the documented difference of passthrough=all: the earlier descriptor reads the lower file\n" + out);
        Tree.assertSame("the lower layer", lowerBefore, Tree.scan(l.lower(0), n -> true), Tree.STRUCTURE);
        assertEquals("after the copy-up", new String(readBytes(l.upper().resolve("lower")), 0, 17));
    }

    @Test
    void seekDataAndSeekHoleFindTheRealHoles() {
        differential("seek", """
                import errno, os, sys
                def seeks(fd, size):
                    out = []
                    for off in (0, 4096, 1 << 20, (1 << 20) + 100, 3 << 20, size - 1, size, size + 1):
                        for whence in (os.SEEK_DATA, os.SEEK_HOLE):
                            try:
                                out.append(os.lseek(fd, off, whence))
                            except OSError as e:
                                out.append(errno.errorcode[e.errno])
                    return out
                root = sys.argv[1]
                fd = os.open(os.path.join(root, 'sparse'), os.O_RDONLY)
                print('lower', seeks(fd, 4 << 20))
                os.close(fd)
                fd = os.open(os.path.join(root, 'dir/sparse'), os.O_RDWR | os.O_CREAT, 0o644)
                os.ftruncate(fd, 4 << 20)
                os.pwrite(fd, b'x' * 8192, 2 << 20)
                os.fsync(fd)
                print('upper', seeks(fd, 4 << 20))
                os.close(fd)
                fd = os.open(os.path.join(root, 'sparse'), os.O_RDWR)
                os.pwrite(fd, b'y', 3 << 20)
                os.fsync(fd)
                print('copied up', seeks(fd, 4 << 20))
                os.close(fd)
                """);
    }

    @Test
    void copyFileRangeCopiesBetweenLayersAndWithinTheUpperLayer() {
        differential("copy", """
                import hashlib, os, subprocess, sys
                root = sys.argv[1]
                def sha(name):
                    return hashlib.sha256(open(os.path.join(root, name), 'rb').read()).hexdigest()
                src = os.open(os.path.join(root, 'lower'), os.O_RDONLY)
                dst = os.open(os.path.join(root, 'dir/copy'), os.O_WRONLY | os.O_CREAT, 0o644)
                total = 0
                while True:
                    n = os.copy_file_range(src, dst, 1 << 30)
                    if n == 0:
                        break
                    total += n
                print('copied', total, sha('dir/copy') == sha('lower'))
                n = os.copy_file_range(src, dst, 4096, 4096, 10)
                print('with offsets', n, os.fstat(dst).st_size)
                os.close(src)
                os.close(dst)
                up = os.open(os.path.join(root, 'upper'), os.O_RDWR)
                n = os.copy_file_range(up, up, 65536, 0, 1 << 19)
                print('within one upper file', n)
                os.close(up)
                try:
                    ro = os.open(os.path.join(root, 'lower'), os.O_RDONLY)
                    os.copy_file_range(ro, ro, 10, 0, 100)
                except OSError as e:
                    print('into a read-only descriptor', e.errno)
                os.close(ro)
                subprocess.run(['cp', '--reflink=never', os.path.join(root, 'upper'), os.path.join(root, 'cp')],
                               check=True)
                print('cp', sha('cp') == sha('upper'), sha('upper'))
                """);
    }

    @Test
    void theAttributesOfAFileWithoutANameChangeThroughItsDescriptor() {
        differential("unlinked", """
                import os, sys
                root = sys.argv[1]
                def show(what, fd, mtime=False):
                    st = os.fstat(fd)
                    print(what, oct(st.st_mode), st.st_uid, st.st_gid, st.st_size, st.st_nlink,
                          st.st_mtime_ns if mtime else '')
                for name, flags in (('upper', os.O_RDWR), ('lower', os.O_RDWR), ('dir/created', os.O_RDWR | os.O_CREAT)):
                    p = os.path.join(root, name)
                    fd = os.open(p, flags, 0o644)
                    os.unlink(p)
                    os.fchmod(fd, 0o4750)
                    show(name + ' fchmod', fd)
                    os.fchown(fd, 1234, 4321)
                    show(name + ' fchown', fd)
                    os.ftruncate(fd, 3)
                    show(name + ' ftruncate', fd)
                    os.utime(fd, ns=(1_000_000_001, 2_000_000_002))
                    show(name + ' futimens', fd, mtime=True)
                    os.pwrite(fd, b'still writable', 0)
                    print(name, os.pread(fd, 14, 0))
                    os.close(fd)
                """);
    }

    @Test
    void sharedMappingsOfCopiedUpFilesReachTheUpperCopy() {
        differential("mmap", """
                import mmap, os, sys
                root = sys.argv[1]
                p = os.path.join(root, 'lower')
                fd = os.open(p, os.O_RDWR)
                with mmap.mmap(fd, 0) as m:
                    m[4096:4105] = b'by mmap!!'
                    m.flush()
                os.close(fd)
                print(open(p, 'rb').read()[4090:4110])
                fd = os.open(os.path.join(root, 'upper'), os.O_RDONLY)
                with mmap.mmap(fd, 0, prot=mmap.PROT_READ) as m:
                    print(m[-20:])
                os.close(fd)
                """);
    }

    /**
     * A write by a user other than the owner clears set-user-ID and set-group-ID, on passed-through and served
     * files alike, as on the kernel overlay (the kernel asks with a SETATTR of the mode; without
     * HANDLE_KILLPRIV_V2 nothing is left to the daemon); a write by root keeps them.
     */
    @Test
    void setIdBitsAreClearedByAnotherUsersWrite() {
        differential("killpriv", """
                import os, subprocess, sys
                root = sys.argv[1]
                def as_user(*cmd):
                    subprocess.run(['setpriv', '--reuid=1000', '--regid=1000', '--clear-groups', *cmd], check=True)
                for name in ('upper', 'lower', 'dir/new'):
                    p = os.path.join(root, name)
                    open(p, 'ab').close()
                    os.chmod(p, 0o6777)
                open(os.path.join(root, 'upper'), 'ab').write(b'by root')
                as_user('sh', '-c', 'echo x >> "$1"', 'sh', os.path.join(root, 'lower'))
                as_user('truncate', '-s', '1', os.path.join(root, 'dir/new'))
                for name in ('upper', 'lower', 'dir/new'):
                    print(name, oct(os.stat(os.path.join(root, name)).st_mode))
                """);
    }

    private static byte[] readBytes(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
