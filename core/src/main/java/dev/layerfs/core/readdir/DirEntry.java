package dev.layerfs.core.readdir;

import dev.layerfs.core.bytes.ByteString;

/**
 * One name of a merged directory listing: its bytes, the inode number the merged view reports for it (equal to
 * the st_ino a stat of it shows), and the file type bits of its mode ({@code S_IFDIR}, {@code S_IFREG}, ...).
 */
public final class DirEntry {
    private final String latin1Name;
    private final long ino;
    private final int type;

    /** @param latin1Name the name as a byte string (one char per byte) */
    public DirEntry(String latin1Name, long ino, int type) {
        this.latin1Name = latin1Name;
        this.ino = ino;
        this.type = type;
    }

    public ByteString name() {
        return ByteString.trusted(latin1Name);
    }

    /** The name in the engine's form: one char per byte. */
    public String latin1Name() {
        return latin1Name;
    }

    public long ino() {
        return ino;
    }

    public int type() {
        return type;
    }

    @Override
    public String toString() {
        return ByteString.display(latin1Name) + " (ino " + ino + ", type 0" + Integer.toOctalString(type) + ")";
    }
}
