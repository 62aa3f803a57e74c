package dev.layerfs.core.nativeio;

import static dev.layerfs.core.nativeio.Linux.S_IFCHR;
import static dev.layerfs.core.nativeio.Linux.S_IFDIR;
import static dev.layerfs.core.nativeio.Linux.S_IFLNK;
import static dev.layerfs.core.nativeio.Linux.S_IFMT;
import static dev.layerfs.core.nativeio.Linux.S_IFREG;

/** The fields of a struct stat that layerfs uses, times to the nanosecond. */
public record Stat(
        long dev, long ino, int mode, long nlink, int uid, int gid, long rdev, long size, long blksize, long blocks,
        Timespec atime, Timespec mtime, Timespec ctime) {

    public int type() {
        return mode & S_IFMT;
    }

    public int permissions() {
        return mode & Linux.PERMISSION_BITS;
    }

    public boolean isDirectory() {
        return type() == S_IFDIR;
    }

    public boolean isRegularFile() {
        return type() == S_IFREG;
    }

    public boolean isSymlink() {
        return type() == S_IFLNK;
    }

    public boolean isCharDevice() {
        return type() == S_IFCHR;
    }

    /** A copy with another link count, as overlayfs reports for merged directories. */
    public Stat withNlink(long newNlink) {
        return new Stat(dev, ino, mode, newNlink, uid, gid, rdev, size, blksize, blocks, atime, mtime, ctime);
    }

    /** A copy with other owners (used by uid/gid mapping). */
    public Stat withOwner(int newUid, int newGid) {
        return new Stat(dev, ino, mode, nlink, newUid, newGid, rdev, size, blksize, blocks, atime, mtime, ctime);
    }
}
