package dev.layerfs.snapshotter.store;

/**
 * A request the store refuses, with the reason in containerd's terms ({@code errdefs}): the gRPC layer turns
 * {@link #reason()} into the status code containerd maps back to the same error.
 */
public final class SnapshotError extends Exception {
    private static final long serialVersionUID = 1L;

    /** containerd's error classes that a snapshotter returns. */
    public enum Reason {
        NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, INVALID_ARGUMENT
    }

    private final Reason reason;

    private SnapshotError(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }

    static SnapshotError notFound(String message) {
        return new SnapshotError(Reason.NOT_FOUND, message);
    }

    static SnapshotError alreadyExists(String message) {
        return new SnapshotError(Reason.ALREADY_EXISTS, message);
    }

    static SnapshotError failedPrecondition(String message) {
        return new SnapshotError(Reason.FAILED_PRECONDITION, message);
    }

    static SnapshotError invalidArgument(String message) {
        return new SnapshotError(Reason.INVALID_ARGUMENT, message);
    }
}
