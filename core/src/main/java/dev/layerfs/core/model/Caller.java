package dev.layerfs.core.model;

/** Who asks for an operation: new objects are owned by this user and group. */
public record Caller(int uid, int gid) {
    public static final Caller ROOT = new Caller(0, 0);

    public boolean isRoot() {
        return uid == 0;
    }
}
