package dev.layerfs.it.containers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.layerfs.it.Sh;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * A user made for one test, as rootless podman needs one: subordinate uid and gid ranges in /etc/subuid and
 * /etc/subgid (useradd allocates them where login.defs says so; otherwise a free range is given), a home and a
 * runtime directory of its own below a temporary directory, and {@code /dev/fuse} mode 0666 as distributions ship
 * it. {@link #close()} deletes the user with its ranges, restores the device's mode and removes the directory.
 */
final class RootlessUser implements AutoCloseable {
    private static final Path DEV_FUSE = Path.of("/dev/fuse");

    final String name;
    final Path dir;
    final Path home;
    final Path runtimeDir;
    private final Set<PosixFilePermission> fuseMode;
    private boolean created;

    private RootlessUser(String name, Path dir, Set<PosixFilePermission> fuseMode) {
        this.name = name;
        this.dir = dir;
        this.home = dir.resolve("home");
        this.runtimeDir = dir.resolve("run");
        this.fuseMode = fuseMode;
    }

    static RootlessUser create() {
        assumeTrue(Sh.run("sh", "-c", "command -v useradd && command -v runuser && command -v newuidmap").exitCode() == 0,
                "useradd, runuser and newuidmap (package uidmap) are needed for a rootless test user");
        try {
            Path dir = Files.createDirectory(Path.of("/tmp", "layerfs-it-rootless-"
                    + UUID.randomUUID().toString().substring(0, 8)));
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            RootlessUser user = new RootlessUser("lfsit" + UUID.randomUUID().toString().substring(0, 6), dir,
                    Files.getPosixFilePermissions(DEV_FUSE));
            try {
                user.setUp();
            } catch (RuntimeException | Error e) {
                try {
                    user.close();
                } catch (Throwable t) {
                    e.addSuppressed(t);
                }
                throw e;
            }
            return user;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void setUp() {
        Sh.ok("useradd", "--no-create-home", "--home-dir", home.toString(), "--shell", "/bin/sh", name);
        created = true;
        for (String file : List.of("/etc/subuid", "/etc/subgid")) {
            if (Sh.run("grep", "-q", "^" + name + ":", file).exitCode() != 0) {
                String range = freeRange(file);
                Sh.ok("usermod", file.endsWith("subuid") ? "--add-subuids" : "--add-subgids", range, name);
            }
        }
        Sh.ok("mkdir", "-p", home.resolve(".config/containers").toString(), runtimeDir.toString());
        try {
            Files.writeString(home.resolve(".config/containers/policy.json"),
                    "{\"default\":[{\"type\":\"insecureAcceptAnything\"}]}\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Sh.ok("chown", "-R", name + ":" + name, home.toString(), runtimeDir.toString());
        Sh.ok("chmod", "0700", runtimeDir.toString());
        Sh.ok("chmod", "0666", DEV_FUSE.toString());
    }

    /** 65536 ids after the last range the file gives anyone, from 100000 on. */
    private static String freeRange(String file) {
        long next = 100_000;
        for (String line : Sh.ok("cat", file).stdout().lines().toList()) {
            String[] f = line.split(":");
            if (f.length == 3) {
                next = Math.max(next, Long.parseLong(f[1].trim()) + Long.parseLong(f[2].trim()));
            }
        }
        return next + "-" + (next + 65535);
    }

    /** The user's numeric id. */
    int uid() {
        return Integer.parseInt(Sh.ok("id", "-u", name).stdout().trim());
    }

    /** A command run as this user with exactly the environment given (PATH, HOME and XDG_RUNTIME_DIR added). */
    Sh.Result run(Map<String, String> env, Duration timeout, String... command) {
        List<String> cmd = new ArrayList<>(List.of("runuser", "-u", name, "--", "env", "-i",
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "HOME=" + home, "XDG_RUNTIME_DIR=" + runtimeDir));
        env.forEach((k, v) -> cmd.add(k + "=" + v));
        cmd.addAll(List.of(command));
        return Sh.run(cmd, Map.of(), dir, timeout);
    }

    /** Pids of this user's processes still running. */
    List<Long> processes() {
        int uid = uid();
        return ProcessHandle.allProcesses()
                .filter(p -> ownerUid(p.pid()) == uid)
                .map(ProcessHandle::pid)
                .toList();
    }

    private static int ownerUid(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("Uid:")) {
                    return Integer.parseInt(line.split("\\s+")[1]);
                }
            }
        } catch (IOException | RuntimeException e) {
            // gone meanwhile
        }
        return -1;
    }

    /** Deletes the user (and its subordinate ranges), restores /dev/fuse's mode, removes the directory. */
    @Override
    public void close() {
        List<String> problems = new ArrayList<>();
        try {
            Files.setPosixFilePermissions(DEV_FUSE, fuseMode);
        } catch (IOException e) {
            problems.add("cannot restore the mode of /dev/fuse: " + e.getMessage());
        }
        if (created) {
            if (!processes().isEmpty()) {
                problems.add("processes of " + name + " still running: " + processes());
            } else {
                Sh.Result r = Sh.run("userdel", name);
                if (r.exitCode() != 0) {
                    problems.add("userdel " + name + ": " + r);
                }
                for (String file : List.of("/etc/subuid", "/etc/subgid")) {
                    if (Sh.run("grep", "-q", "^" + name + ":", file).exitCode() == 0) {
                        Sh.run("sed", "-i", "/^" + name + ":/d", file);
                    }
                }
            }
        }
        Sh.run("rm", "-rf", "--one-file-system", dir.toString());
        assertEquals(List.of(), problems, "rootless user teardown");
    }
}
