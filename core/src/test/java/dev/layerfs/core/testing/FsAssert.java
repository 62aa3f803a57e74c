package dev.layerfs.core.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.core.nativeio.Stat;
import dev.layerfs.core.nativeio.Timespec;
import java.util.List;

/** Assertions for the engine's results. */
public final class FsAssert {
    private FsAssert() {}

    /** Something that should fail with an {@link FsException}. */
    @FunctionalInterface
    public interface FsCall {
        void run() throws Exception;
    }

    /** Asserts that the call fails with exactly this errno; returns the exception. */
    public static FsException assertErrno(Errno expected, FsCall call) {
        return assertErrno(expected, call, "");
    }

    public static FsException assertErrno(Errno expected, FsCall call, String what) {
        FsException e = assertThrows(FsException.class, call::run, () -> what + ": expected " + expected);
        assertEquals(expected, e.errno(), () -> what + ": errno of: " + e.getMessage());
        return e;
    }

    /** Asserts equal times to the nanosecond. */
    public static void assertSameTime(Timespec expected, Timespec actual, String what) {
        assertEquals(expected.sec(), actual.sec(), what + " (seconds)");
        assertEquals(expected.nsec(), actual.nsec(), what + " (nanoseconds)");
    }

    /** Asserts that a copy has the same type, mode, owner, atime and mtime as its original. */
    public static void assertSameMetadata(Stat original, Stat copy, String what) {
        assertEquals(Integer.toOctalString(original.mode()), Integer.toOctalString(copy.mode()), what + " mode");
        assertEquals(original.uid(), copy.uid(), what + " uid");
        assertEquals(original.gid(), copy.gid(), what + " gid");
        assertSameTime(original.mtime(), copy.mtime(), what + " mtime");
        assertSameTime(original.atime(), copy.atime(), what + " atime");
    }

    /** Asserts that WORKDIR/work holds nothing. */
    public static void assertScratchEmpty(OverlayFixture fx) {
        List<String> left = fx.scratch().list("");
        assertTrue(left.isEmpty(), () -> "leftovers in the work directory: " + left);
    }

    /** The descriptors of this process that point at or below {@code dir} (from /proc/self/fd). */
    public static List<String> descriptorsUnder(java.nio.file.Path dir) {
        List<String> out = new java.util.ArrayList<>();
        java.io.File[] fds = new java.io.File("/proc/self/fd").listFiles();
        if (fds == null) {
            return out;
        }
        String prefix = dir.toAbsolutePath().toString();
        for (java.io.File fd : fds) {
            try {
                String target = java.nio.file.Files.readSymbolicLink(fd.toPath()).toString();
                if (target.equals(prefix) || target.startsWith(prefix + "/")) {
                    out.add(fd.getName() + " -> " + target);
                }
            } catch (java.io.IOException gone) {
                // closed while we looked
            }
        }
        return out;
    }

    /** Asserts that a real object is the kernel's whiteout: a character device 0/0 with mode 020000. */
    public static void assertDeviceWhiteout(LayerTree layer, String rel) {
        if (!layer.exists(rel)) {
            fail("no whiteout at " + layer.path(rel));
        }
        Stat st = layer.stat(rel);
        assertEquals("20000", Integer.toOctalString(st.mode()), "whiteout mode of " + rel);
        assertEquals(0, st.rdev(), "whiteout rdev of " + rel);
    }
}
