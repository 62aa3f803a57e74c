package dev.layerfs.core.nativeio;

/** One entry read from a real directory: its name, inode number and dirent type (a {@code DT_*} value). */
public record RawDirent(String name, long ino, byte type) {}
