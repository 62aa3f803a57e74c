package dev.layerfs.core.model;

import java.util.OptionalInt;

/**
 * The owners the overlay shows and stores: a user id map and a group id map ({@link IdMap}), and optionally a
 * squash, fuse-overlayfs's {@code squash_to_uid=}, {@code squash_to_gid=} and {@code squash_to_root}: every
 * object is shown as owned by that user or group, whatever is stored. A squash changes only what is shown; new
 * objects and chown still store the caller's or the given ids through the maps.
 *
 * @param uids the user id map
 * @param gids the group id map
 * @param squashUid the user every object is shown as owned by, if any
 * @param squashGid the group every object is shown as owned by, if any
 */
public record IdMapping(IdMap uids, IdMap gids, OptionalInt squashUid, OptionalInt squashGid) {
    /** Ids pass through unchanged. */
    public static final IdMapping IDENTITY =
            new IdMapping(IdMap.IDENTITY, IdMap.IDENTITY, OptionalInt.empty(), OptionalInt.empty());

    public static IdMapping of(IdMap uids, IdMap gids) {
        return new IdMapping(uids, gids, OptionalInt.empty(), OptionalInt.empty());
    }

    public IdMapping withSquash(OptionalInt uid, OptionalInt gid) {
        return new IdMapping(uids, gids, uid, gid);
    }

    public boolean isIdentity() {
        return uids.isIdentity() && gids.isIdentity() && squashUid.isEmpty() && squashGid.isEmpty();
    }

    /** The owner shown for a stored owner. */
    public int shownUid(int stored) {
        return squashUid.isPresent() ? squashUid.getAsInt() : uids.shown(stored);
    }

    /** The group shown for a stored group. */
    public int shownGid(int stored) {
        return squashGid.isPresent() ? squashGid.getAsInt() : gids.shown(stored);
    }

    /** The owner a copy-up keeps for a lower object's owner ({@link IdMap#canonical}). */
    public int canonicalUid(int stored) {
        return uids.canonical(stored);
    }

    /** The group a copy-up keeps for a lower object's group ({@link IdMap#canonical}). */
    public int canonicalGid(int stored) {
        return gids.canonical(stored);
    }

    /** The owner to store for an owner given through the overlay; -1 (chown's "unchanged") stays -1. */
    public int storedUid(int shown) {
        return shown == -1 ? -1 : uids.stored(shown);
    }

    /** The group to store for a group given through the overlay; -1 (chown's "unchanged") stays -1. */
    public int storedGid(int shown) {
        return shown == -1 ? -1 : gids.stored(shown);
    }
}
