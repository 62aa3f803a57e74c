package dev.layerfs.image.commit;

import dev.layerfs.image.extract.Posix;
import dev.layerfs.image.names.ByteNames;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Writes a writable layer as an OCI layer tar, byte for byte the same for the same layer: entries in byte order
 * of their names, numeric owners only, mtimes in whole seconds, no atime or ctime. Whiteouts become empty
 * {@code .wh.NAME} files, opaque directories a {@code .wh..wh..opq} inside them, a second name of a file a hard
 * link entry. Names, link targets and xattrs (the overlay's own left out) travel in a PAX header this class
 * writes itself, byte for byte, because Commons Compress writes PAX values as text and would garble binary
 * ones such as {@code security.capability}.
 */
public final class LayerTarWriter {
    private final TarArchiveOutputStream tar;
    private final Map<Object, String> firstNameOfInode = new HashMap<>();

    private LayerTarWriter(OutputStream out) {
        // ISO-8859-1: an entry's name is one char per byte, written back as the bytes the layer's name has
        this.tar = new TarArchiveOutputStream(out, 512, "ISO-8859-1");
        this.tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_TRUNCATE);
        this.tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_STAR);
    }

    public static void write(Path upper, OutputStream out) throws IOException {
        LayerTarWriter w = new LayerTarWriter(out);
        for (UpperLayer.Entry e : UpperLayer.entries(upper)) {
            w.entry(e);
        }
        w.tar.finish();
    }

    private void entry(UpperLayer.Entry e) throws IOException {
        Map<String, Object> st = Files.readAttributes(e.path(), "unix:*", LinkOption.NOFOLLOW_LINKS);
        long mtime = ((java.nio.file.attribute.FileTime) st.get("lastModifiedTime")).toMillis() / 1000;
        if (e.kind() == UpperLayer.Kind.WHITEOUT) {
            String rel = ByteNames.archiveName(e.rel());
            int slash = rel.lastIndexOf('/');
            String name = rel.substring(0, slash + 1) + ".wh." + rel.substring(slash + 1);
            put(newEntry(name, TarConstants.LF_NORMAL, 0, 0, 0, mtime), Map.of(), null, 0);
            return;
        }
        int mode = (Integer) st.get("mode");
        int uid = (Integer) st.get("uid");
        int gid = (Integer) st.get("gid");
        Map<String, byte[]> xattrs = xattrs(e.path());
        int type = mode & 0170000;
        String rel = ByteNames.archiveName(e.rel());
        if (type == 0040000) {
            put(newEntry(rel + "/", TarConstants.LF_DIR, mode, uid, gid, mtime), xattrs, null, 0);
            if (e.kind() == UpperLayer.Kind.OPAQUE_DIR) {
                put(newEntry(rel + "/.wh..wh..opq", TarConstants.LF_NORMAL, 0, 0, 0, mtime), Map.of(), null, 0);
            }
        } else if (type == 0120000) {
            TarArchiveEntry t = newEntry(rel, TarConstants.LF_SYMLINK, mode, uid, gid, mtime);
            t.setLinkName(new String(Posix.readlink(e.path()), StandardCharsets.ISO_8859_1));
            put(t, xattrs, null, 0);
        } else if (type == 0100000) {
            Object inode = st.get("fileKey");
            String first = (Integer) st.get("nlink") > 1 ? firstNameOfInode.putIfAbsent(inode, rel) : null;
            if (first != null) {
                TarArchiveEntry t = newEntry(rel, TarConstants.LF_LINK, mode, uid, gid, mtime);
                t.setLinkName(first);
                put(t, xattrs, null, 0);
            } else {
                put(newEntry(rel, TarConstants.LF_NORMAL, mode, uid, gid, mtime), xattrs, e.path(),
                        (Long) st.get("size"));
            }
        } else if (type == 0020000 || type == 0060000 || type == 0010000) {
            byte flag = type == 0020000 ? TarConstants.LF_CHR : type == 0060000 ? TarConstants.LF_BLK
                    : TarConstants.LF_FIFO;
            TarArchiveEntry t = newEntry(rel, flag, mode, uid, gid, mtime);
            long rdev = (Long) st.get("rdev");
            t.setDevMajor((int) (((rdev >>> 32) & 0xfffff000L) | ((rdev >>> 8) & 0xfffL)));
            t.setDevMinor((int) (((rdev >>> 12) & 0xffffff00L) | (rdev & 0xffL)));
            put(t, xattrs, null, 0);
        }
        // sockets are not kept in layers, as podman leaves them out
    }

    private static TarArchiveEntry newEntry(String name, byte flag, int mode, int uid, int gid, long mtime) {
        TarArchiveEntry t = new TarArchiveEntry(name, flag, true);
        t.setMode(mode & 07777);
        t.setUserId(uid);
        t.setGroupId(gid);
        t.setUserName("");
        t.setGroupName("");
        t.setModTime(mtime * 1000);
        return t;
    }

    /** Writes an entry, preceded by a PAX header when its name, link or xattrs need one, then its data. */
    private void put(TarArchiveEntry t, Map<String, byte[]> xattrs, Path data, long size) throws IOException {
        TreeMap<String, byte[]> pax = new TreeMap<>();
        byte[] name = t.getName().getBytes(StandardCharsets.ISO_8859_1);
        byte[] link = t.getLinkName().getBytes(StandardCharsets.ISO_8859_1);
        if (name.length > 100 || !isAscii(name)) {
            pax.put("path", name);
        }
        if (link.length > 100 || !isAscii(link)) {
            pax.put("linkpath", link);
        }
        xattrs.forEach((k, v) -> pax.put("SCHILY.xattr." + k, v));
        if (!pax.isEmpty()) {
            byte[] records = paxRecords(pax);
            TarArchiveEntry h = new TarArchiveEntry("PaxHeaders/" + truncate(t.getName()),
                    TarConstants.LF_PAX_EXTENDED_HEADER_LC, true);
            h.setSize(records.length);
            h.setModTime(t.getModTime().getTime());
            tar.putArchiveEntry(h);
            tar.write(records);
            tar.closeArchiveEntry();
        }
        t.setSize(size);
        tar.putArchiveEntry(t);
        if (data != null) {
            try (InputStream in = Files.newInputStream(data, LinkOption.NOFOLLOW_LINKS)) {
                in.transferTo(tar);
            }
        }
        tar.closeArchiveEntry();
    }

    /** PAX records, "LEN KEY=VALUE\n" with LEN counting itself, keys (one char per byte) in sorted order. */
    static byte[] paxRecords(Map<String, byte[]> pax) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Map.Entry<String, byte[]> e : pax.entrySet()) {
            byte[] key = e.getKey().getBytes(StandardCharsets.ISO_8859_1);
            int body = 1 + key.length + 1 + e.getValue().length + 1;
            int len = body + Integer.toString(body).length();
            if (Integer.toString(len).length() != Integer.toString(body).length()) {
                len++;
            }
            out.write((len + " ").getBytes(StandardCharsets.US_ASCII));
            out.write(key);
            out.write('=');
            out.write(e.getValue());
            out.write('\n');
        }
        return out.toByteArray();
    }

    private static Map<String, byte[]> xattrs(Path p) throws IOException {
        TreeMap<String, byte[]> out = new TreeMap<>();
        for (String name : Posix.listXattrs(p)) {
            if (name.startsWith("trusted.overlay.") || name.startsWith("user.overlay.")
                    || name.startsWith("user.fuseoverlayfs.")) {
                continue;
            }
            byte[] v = Posix.getXattr(p, name);
            if (v != null) {
                out.put(name, v);
            }
        }
        return out;
    }

    private static boolean isAscii(byte[] b) {
        for (byte x : b) {
            if (x < 0) {
                return false;
            }
        }
        return true;
    }

    private static String truncate(String name) {
        return name.length() > 80 ? name.substring(0, 80) : name;
    }
}
