package dev.layerfs.core.nativeio;

/** The fields of a struct statvfs. */
public record StatFs(
        long bsize, long frsize, long blocks, long bfree, long bavail, long files, long ffree, long favail,
        long fsid, long flag, long namemax) {}
