package dev.layerfs.daemon;

import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;
import dev.layerfs.fuse.MountPlan;
import dev.layerfs.fuse.MountRefusal;
import dev.layerfs.fuse.ServedMount;
import dev.layerfs.fuse.kernel.KernelSession;
import dev.layerfs.image.cli.ImageMount;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One mount asked for by the mount client ({@code daemon/src/main/c/layerfs-client.c}, which describes the
 * design and why the client, not the daemon, calls mount(2)). The conversation, one frame each way at a time:
 *
 * <pre>
 * client: mount CWD ARGC ARG... [NAME=VALUE...]     the command line, its directory, its LAYERFS_* variables
 * daemon: warn LINE                                 (any number) a line the command prints on stderr
 * daemon: error STATUS LINE | elsewhere WHY         refused: print and exit; or run the mount in a process of its own
 * daemon: mount SOURCE TYPE FLAGS OPTIONS MOUNTPOINT   what to give mount(2)
 * client: mounted + SCM_RIGHTS {/dev/fuse, /proc/self/ns/mnt} | failed ERRNO
 * daemon: ready | error STATUS LINE                 the kernel's INIT answered; the client stats the mount point
 * </pre>
 *
 * {@code layerfs image mount ...} comes the same way (ARG... begins with {@code image}): the daemon resolves the
 * image in the store and records the mount ({@link ImageMount}) for the client's store (its LAYERFS_STORE, else
 * the default of the daemon's user), then goes on as for the {@code layerfs} command line that mounts it, the
 * ephemeral layer in the record's directory; a mount not made deletes its record. A refusal of the image command
 * is its own lines, printed as they are, and its status:
 *
 * <pre>
 * daemon: say LINE ... exit STATUS
 * </pre>
 */
final class HandOver {
    private static final Logger LOG = LoggerFactory.getLogger(HandOver.class);
    private static final long READY_TIMEOUT_SECONDS = 30;

    private final MountRegistry registry;
    private final ControlCalls calls = ControlCalls.get();
    private final int ownUid;

    HandOver(MountRegistry registry) {
        this.registry = registry;
        this.ownUid = calls.geteuid();
    }

    /** Serves one connection to its end; never throws (a failure is the one client's). */
    void serve(ControlConnection c) {
        try (c) {
            int[] peer = c.peer();
            if (peer[1] != ownUid && peer[1] != 0) {
                c.write("error", "1", "this layerfs daemon serves only uid " + ownUid + " and root, not uid "
                        + peer[1]);
                return;
            }
            ControlConnection.Frame request = c.read();
            if (request == null || !request.kind().equals("mount") || request.fields().size() < 3) {
                LOG.debug("a client (pid {}) sent no mount request", peer[0]);
                return;
            }
            mount(c, request.fields(), peer[0], peer[1]);
        } catch (FsException e) {
            LOG.debug("a client's connection failed: {}", e.getMessage());
        } catch (RuntimeException | Error e) {
            LOG.error("handing a mount over failed", e);
        }
    }

    private void mount(ControlConnection c, List<String> fields, int pid, int uid) throws FsException {
        Path cwd = Path.of(fields.get(1));
        int argc = Integer.parseInt(fields.get(2));
        List<String> args = fields.subList(3, 3 + argc);
        Map<String, String> env = new HashMap<>();
        for (String kv : fields.subList(3 + argc, fields.size())) {
            int eq = kv.indexOf('=');
            if (eq > 0) {
                env.put(kv.substring(0, eq), kv.substring(eq + 1));
            }
        }
        if (registry.closed()) {
            c.write("elsewhere", "the daemon is stopping");
            return;
        }
        ImageMount image = null;
        if (!args.isEmpty() && args.get(0).equals("image")) {
            List<String> imageArgs = args.subList(1, args.size());
            if (uid != ownUid || !ImageMount.isMount(imageArgs)) {
                c.write("elsewhere", "the daemon makes image mounts only, and for its own user only");
                return;
            }
            if (!sameMountNamespace(pid)) {
                // The store, the mount point and the record are paths the daemon resolves: in another mount
                // namespace they may name other files, or none (a daemon under systemd's PrivateTmp).
                c.write("elsewhere", "the client is in another mount namespace than the daemon");
                return;
            }
            try {
                image = ImageMount.prepare(imageArgs, new ImageMount.Caller(cwd, env, ownUid == 0,
                        Path.of(System.getProperty("user.home")), false));
            } catch (ImageMount.Refusal r) {
                for (String line : r.lines()) {
                    c.write("say", line);
                }
                c.write("exit", Integer.toString(r.exitCode()));
                return;
            }
        }
        boolean served = false;
        try {
            served = mount(c, image == null ? args : image.layerfsArgs(), cwd, env, pid,
                    image == null ? Optional.empty() : Optional.of(image.tmpDir()));
        } finally {
            // Once a session serves the mount, the image's record and ephemeral layer are the mount's: a client
            // gone before "ready" does not unmount it. The record goes once nothing is mounted there.
            if (image != null && !served) {
                image.abandon();
            }
        }
    }

    /**
     * Makes one mount for the client, its ephemeral layer in {@code tmpDir} if given; whether a session serves it
     * (it then owns the mount's clean-up, whatever the client hears).
     */
    private boolean mount(ControlConnection c, List<String> args, Path cwd, Map<String, String> env, int pid,
                          Optional<Path> tmpDir) throws FsException {
        boolean warmUp = c.warmUp();
        MountPlan plan;
        try {
            plan = MountPlan.prepare(args, cwd, env, tmpDir);
        } catch (MountRefusal r) {
            refuse(c, r);
            return false;
        }
        boolean handedOver = false;
        try {
            for (String w : plan.warnings()) {
                c.write("warn", w);
            }
            KernelSession.MountCall call = plan.mountCall();
            c.writeNames("mount", call.source(), call.type(), Long.toString(call.flags()), call.options(),
                    plan.mountPoint().toString());
            ControlConnection.Frame answer = c.read();
            if (answer == null) {
                return false;
            }
            if (answer.kind().equals("failed")) {
                closeAll(answer.fds());
                Errno errno = Errno.of(Integer.parseInt(answer.fields().get(1)));
                if (errno == Errno.EPERM) {
                    // As the command does without a daemon: where mount(2) is not permitted, fusermount3 mounts,
                    // from a process of its own.
                    c.write("elsewhere", "mount(2) is not permitted to the client");
                } else {
                    c.write("error", "1", "mounting " + plan.mountPoint() + " failed: "
                            + FsException.of(errno, "mount", plan.mountPoint().toString()).getMessage());
                }
                return false;
            }
            int[] fds = answer.fds();
            if (!answer.kind().equals("mounted") || fds.length < 1) {
                closeAll(fds);
                LOG.warn("a client (pid {}) answered {} without a /dev/fuse descriptor", pid, answer.kind());
                return false;
            }
            long id = registry.nextId();
            ServedMount served = ServedMount.of(plan, fds[0], "mount-" + id, () -> registry.ended(id));
            handedOver = true;
            for (int i = 2; i < fds.length; i++) {
                calls.close(fds[i]);
            }
            // Recorded (a file written) before the session starts: the session finds the number of each /dev/fuse
            // it opens as the lowest free descriptor, and where another thread opens or closes a file meanwhile it
            // has to compare every descriptor of the daemon instead (some 100 readlink calls).
            registry.add(id, served, plan.ephemeralLayer(), plan.layerDirectories(), fds.length > 1 ? fds[1] : -1,
                    warmUp);
            served.start();
            try {
                served.awaitReady(READY_TIMEOUT_SECONDS);
                if (warmUp) {
                    LOG.debug("warm-up: mounted {} for pid {}", plan.describe(), pid);
                } else {
                    LOG.info("mounted {} for pid {}", plan.describe(), pid);
                }
                c.write("ready");
            } catch (MountRefusal r) {
                refuse(c, r);
            } catch (FsException e) {
                LOG.warn("the client (pid {}) went before it heard that {} is live: {}", pid, plan.mountPoint(),
                        e.getMessage());
            }
            return true;
        } finally {
            if (!handedOver) {
                plan.abandon();
            }
        }
    }

    /** Whether process {@code pid} sees the files this daemon sees: the same mount namespace (false if unknown). */
    private static boolean sameMountNamespace(int pid) {
        try {
            return Files.readSymbolicLink(Path.of("/proc", Integer.toString(pid), "ns", "mnt"))
                    .equals(Files.readSymbolicLink(Path.of("/proc/self/ns/mnt")));
        } catch (IOException e) {
            return false;
        }
    }

    private static void refuse(ControlConnection c, MountRefusal r) throws FsException {
        if (r.servedElsewhere()) {
            c.write("elsewhere", r.getMessage());
        } else {
            c.write("error", Integer.toString(r.exitCode()), r.getMessage());
        }
    }

    private void closeAll(int[] fds) {
        for (int fd : fds) {
            calls.close(fd);
        }
    }
}
