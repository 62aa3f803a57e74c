package dev.layerfs.fuse;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The {@code layerfs} command line, argument-compatible with fuse-overlayfs:
 * {@code layerfs [-f] [-d] -o OPTIONS MOUNTPOINT}, and the form mount helpers use,
 * {@code layerfs SOURCE MOUNTPOINT -o OPTIONS} (what {@code mount -t fuse.layerfs} runs via mount.fuse3).
 */
final class CommandLine {
    static final String USAGE = """
            usage: layerfs [-f] [-d] -o lowerdir=LOWER1[:LOWER2...][,upperdir=UPPER,workdir=WORK][,OPTION...] MOUNTPOINT
                   layerfs SOURCE MOUNTPOINT -o OPTIONS     (the form mount.fuse3 runs)
                   layerfs --version | --help
                   layerfs serve [--run-dir DIR]            (one resident daemon for every mount: layerfs serve --help)

            Stacks read-only lower layers (topmost first) under an optional writable upper layer and mounts the
            merged view at MOUNTPOINT. The command returns once the mount answers; the daemon stays in the
            background until the mount point is unmounted (umount, fusermount3 -u) or it gets SIGTERM. Where a
            `layerfs serve` daemon runs ($LAYERFS_RUN_DIR, else /run/layerfs as root), the mount is handed over to
            it and no process of its own stays; LAYERFS_DAEMON=off keeps the mount in a process of its own.

              -f                  stay in the foreground
              -d                  debug: log every FUSE request (implies -f)
              -s                  serve requests with a single thread
              -o OPTIONS          comma-separated, may be given more than once:
                 lowerdir=A:B:C   read-only layers, topmost first (\\: escapes a colon in a path)
                 upperdir=DIR     the writable layer; needs workdir
                 workdir=DIR      scratch directory on the same filesystem as upperdir
                 ephemeral        a writable layer in a new temporary directory, deleted at unmount
                 ro               mount read-only (also the case without upperdir)
                 volatile         skip fsync (the same as fsync=0)
                 fsync=0|1        whether fsync reaches the disk (default 1)
                 timeout=SECONDS  how long the kernel caches names and attributes (default: a day on
                                  the kernel transport, 1 with index=on or transport=libfuse2)
                 threads=N        threads serving requests (default: one per core, at least 2); -s is 1
                 transport=kernel|libfuse2  how FUSE is spoken: over /dev/fuse directly (the default; mount(2)
                                  as root, fusermount3 otherwise), or through libfuse 2; LAYERFS_TRANSPORT
                                  sets it where this option is not given
                 passthrough=upper|all|off  kernel transport: which files the kernel reads and writes
                                  itself: upper-layer files (the default; every file of a read-only
                                  stack), all (lower files too: a descriptor opened before a copy-up
                                  keeps reading the lower file), or none
                 allow_other      let other users in (the default when run as root)
                 default_permissions  the kernel checks permissions (the default when run as root)
                 fsname=NAME      the source name shown in /proc/mounts
                 uidmapping=ID:SHOWN:LEN[:ID:SHOWN:LEN...]  user ids stored in the layers and the ids shown
                                  for them (unmapped ids show as 65534); gidmapping= the same for groups
                 squash_to_root, squash_to_uid=UID, squash_to_gid=GID  show every object as owned by them
                 suid, dev / nosuid, nodev  set-user-ID programs and device files through the mount (default:
                                  suid and dev when run as root, as fuse-overlayfs; never otherwise)
                 redirect_dir=on|follow|nofollow|off  as the kernel overlay: on renames directories with
                                  lower content (overlay.redirect); off (the default) follows redirects only
                 metacopy=on|off  as the kernel overlay: on copies up only the metadata of a lower file
                                  for chmod, chown, utimens and xattrs (overlay.metacopy)
                 index=on|off     as the kernel overlay: on keeps a lower hard link one file through
                                  copy-up (WORKDIR/index); off (the default) breaks it at copy-up
                 xino=on|off|auto  accepted; where layers span filesystems numbers are composed as the
                                  kernel's xino composes them, whatever the value (one st_dev through FUSE)
                 nfs_export=off   accepted; nfs_export=on is refused
              rw, exec and the other generic mount options are accepted and ignored; unknown options
              are reported on stderr and ignored.
            """;

    boolean foreground;
    boolean debug;
    boolean version;
    boolean singleThreaded;
    boolean help;
    Optional<Path> readyFile = Optional.empty();
    /** Where an ephemeral layer is made: the JVM's java.io.tmpdir (the launcher's TMPDIR) unless set. */
    Optional<Path> tmpDir = Optional.empty();
    Optional<String> source = Optional.empty();
    Path mountPoint;
    final MountOptions options = new MountOptions();
    /** The transport that serves the mount, decided by {@link TransportChoice}. */
    String transport;

    static CommandLine parse(String[] args) throws UsageException {
        return parse(args, System::getenv);
    }

    /** Parses with the environment a caller gave (the daemon parses for a client, in the client's environment). */
    static CommandLine parse(String[] args, java.util.function.UnaryOperator<String> env) throws UsageException {
        CommandLine cl = new CommandLine();
        List<String> positional = new ArrayList<>();
        boolean sawOptions = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "-f" -> cl.foreground = true;
                case "-d", "--debug" -> {
                    cl.debug = true;
                    cl.foreground = true;
                }
                case "-s" -> cl.singleThreaded = true;
                case "-V", "--version" -> cl.version = true;
                case "-h", "--help" -> cl.help = true;
                case "-o" -> {
                    if (i + 1 >= args.length) {
                        throw new UsageException("-o needs an option list");
                    }
                    cl.options.parse(args[++i]);
                    sawOptions = true;
                }
                case "--ready-file" -> {
                    if (i + 1 >= args.length) {
                        throw new UsageException("--ready-file needs a path");
                    }
                    cl.readyFile = Optional.of(Path.of(args[++i]));
                }
                case "--" -> {
                    while (++i < args.length) {
                        positional.add(args[i]);
                    }
                }
                default -> {
                    if (a.startsWith("-o") && a.length() > 2) {
                        cl.options.parse(a.substring(2));
                        sawOptions = true;
                    } else if (a.startsWith("-") && a.length() > 1) {
                        throw new UsageException("unknown flag " + a + " (see layerfs --help)");
                    } else {
                        positional.add(a);
                    }
                }
            }
        }
        if (cl.help) {
            return cl;
        }
        cl.transport = TransportChoice.decide(cl.options.transport, env.apply(TransportChoice.ENVIRONMENT));
        if (cl.version) {
            return cl;
        }
        if (positional.isEmpty()) {
            throw new UsageException("no mount point given (see layerfs --help)");
        }
        if (positional.size() > 2) {
            throw new UsageException("too many arguments: " + String.join(" ", positional));
        }
        if (positional.size() == 2) {
            cl.source = Optional.of(positional.get(0));
        }
        cl.mountPoint = Path.of(positional.get(positional.size() - 1));
        if (!sawOptions || cl.options.lowerDirs.isEmpty()) {
            throw new UsageException("no lowerdir given: use -o lowerdir=DIR[:DIR...]");
        }
        cl.options.resolveFeatures();
        return cl;
    }

    /** Makes relative paths (the mount point and every layer) relative to {@code dir} instead of this process's. */
    void resolveAgainst(Path dir) {
        mountPoint = dir.resolve(mountPoint);
        options.lowerDirs = new ArrayList<>(options.lowerDirs.stream().map(dir::resolve).toList());
        options.upperDir = options.upperDir.map(dir::resolve);
        options.workDir = options.workDir.map(dir::resolve);
    }
}
