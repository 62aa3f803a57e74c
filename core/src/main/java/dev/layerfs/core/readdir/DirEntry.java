package dev.layerfs.core.readdir;

/**
 * One name of a merged directory listing.
 *
 * @param name the name
 * @param ino the inode number the merged view reports for it
 * @param type the file type bits of its mode ({@code S_IFDIR}, {@code S_IFREG}, ...)
 */
public record DirEntry(String name, long ino, int type) {}
