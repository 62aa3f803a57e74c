package dev.layerfs.it.fuzz;

/**
 * Inode numbers across a copy-up, compared as a relation (two mounts never show the same numbers): for each
 * operation that may copy its object up, the object's st_ino before the operation and after it, and the outcome
 * says " ino=kept" or " ino=new" (on success, where both could be read). The kernel overlay (one file system,
 * index=off) keeps a copied-up non-directory's lower st_ino where the lower object had one link (a lower hard link
 * gets the upper object's number), and shows a merged directory with its topmost lower directory's number; layerfs
 * must say the same ({@link Allowed#INODE_NUMBERS}).
 *
 * <p>Which object: the path's object for chmod, chown, utimens, truncate and an open for writing (following a final
 * link, as they do; an open kept in a slot is asked through its descriptor), the object itself for lchown,
 * lutimens and the xattr calls; for link, the source before and the new name after; for rename, the source
 * before and the target name after.
 */
final class Inodes {
    private Inodes() {}

    /** An operation's object's inode number before it ran. */
    record Watch(Op op, long before) {
        /** " ino=kept", " ino=new", or "" where either number is unknown. */
        String relation(Exec x) {
            long after = switch (op.name()) {
                case "open" -> op.arg(0).equals("-") ? x.ino(op.arg(1), follows(op))
                        : x.slotIno(Integer.parseInt(op.arg(0)));
                case "link", "rename" -> x.ino(op.arg(1), false);
                default -> x.ino(op.arg(0), follows(op));
            };
            if (before < 0 || after < 0) {
                return "";
            }
            return before == after ? " ino=kept" : " ino=new";
        }
    }

    /** What to watch of an operation (read as root, before it runs), or null for one that copies nothing up. */
    static Watch watch(Exec x, Op op) {
        return switch (op.name()) {
            case "chmod", "chown", "utimens", "truncate", "lchown", "lutimens", "setxattr", "removexattr", "link",
                    "rename" -> new Watch(op, x.ino(op.arg(0), follows(op)));
            case "open" -> writes(op.arg(2)) ? new Watch(op, x.ino(op.arg(1), follows(op))) : null;
            default -> null;
        };
    }

    private static boolean follows(Op op) {
        return switch (op.name()) {
            case "chmod", "chown", "utimens", "truncate" -> true;
            case "open" -> !op.arg(2).contains("NOFOLLOW");
            default -> false;
        };
    }

    private static boolean writes(String openFlags) {
        return openFlags.contains("WRONLY") || openFlags.contains("RDWR") || openFlags.contains("TRUNC");
    }
}
