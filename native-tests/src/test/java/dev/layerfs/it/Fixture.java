package dev.layerfs.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;

/** Builds layer content: small files with given modes, owners, xattrs and old timestamps. */
public final class Fixture {
    /** 2001-09-09T01:46:40Z: every fixture object gets this mtime, so preserved times stand out. */
    public static final FileTime OLD = FileTime.from(Instant.ofEpochSecond(1_000_000_000L, 123_456_789L));

    private Fixture() {}

    public static Path file(Path p, String content) {
        return file(p, content, "rw-r--r--");
    }

    public static Path file(Path p, String content, String perms) {
        try {
            Files.createDirectories(p.getParent());
            Files.writeString(p, content, StandardCharsets.UTF_8);
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(perms));
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Path dir(Path p) {
        return dir(p, "rwxr-xr-x");
    }

    public static Path dir(Path p, String perms) {
        try {
            Files.createDirectories(p);
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(perms));
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Path symlink(Path p, String target) {
        try {
            Files.createDirectories(p.getParent());
            return Files.createSymbolicLink(p, Path.of(target));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static void owner(Path p, int uid, int gid) {
        Sh.ok("chown", "-h", uid + ":" + gid, p.toString());
    }

    public static void xattr(Path p, String name, String value) {
        Sh.ok("setfattr", "-h", "-n", name, "-v", value, p.toString());
    }

    /** Sets every mtime and atime below root (root included, links not followed) to {@link #OLD}. */
    public static void ageAll(Path root) {
        Sh.ok("find", root.toString(), "-exec", "touch", "-h", "-d", "@1000000000.123456789", "{}", "+");
    }
}
