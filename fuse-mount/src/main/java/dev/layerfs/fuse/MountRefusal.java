package dev.layerfs.fuse;

/**
 * A mount the resident daemon will not make for a client: the one line the {@code layerfs} command prints and the
 * exit status it returns (the same as without a daemon), or, where {@link #servedElsewhere}, a request the
 * daemon does not serve at all (the client then runs the mount in a process of its own, as without a daemon).
 */
public final class MountRefusal extends Exception {
    private static final long serialVersionUID = 1L;

    private final int exitCode;
    private final boolean servedElsewhere;

    private MountRefusal(String message, int exitCode, boolean servedElsewhere) {
        super(message);
        this.exitCode = exitCode;
        this.servedElsewhere = servedElsewhere;
    }

    /** Bad input: the message and status the command gives without a daemon. */
    public static MountRefusal error(String message, int exitCode) {
        return new MountRefusal(message, exitCode, false);
    }

    /** Not the daemon's to serve (another transport, a foreground run): the client's own process serves it. */
    public static MountRefusal servedElsewhere(String why) {
        return new MountRefusal(why, 0, true);
    }

    public int exitCode() {
        return exitCode;
    }

    public boolean servedElsewhere() {
        return servedElsewhere;
    }
}
