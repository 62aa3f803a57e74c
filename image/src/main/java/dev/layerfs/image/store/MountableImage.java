package dev.layerfs.image.store;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What mounting an image needs of it: its names, ID and manifest digest (to resolve a reference as
 * {@link ImageReference#resolve} does), and its layers' diff_ids and blob digests, base first (for {@code @N} and
 * {@code @DIGEST}). Read from the store's {@code index.txt}: the same for every image of index.json, as lines of
 * text, so that a mount parses no JSON and loads no JSON library:
 * <pre>
 * layerfs index.txt 2 SHA256-OF-INDEX.JSON IDENTITY
 * image MANIFEST-HEX CONFIG-HEX
 * name NAME                          (each of its names)
 * layer DIFF-ID-HEX BLOB-DIGEST      (each layer, base first)
 * </pre>
 * It holds for the index.json whose digest its first line gives; any other index.json (changed by a program that
 * does not know this file, or by a command killed between the two renames) makes it stale, and the next resolution
 * rebuilds it from the JSON. An image's lines never go stale otherwise: they come from its manifest and config,
 * which its manifest digest fixes. IDENTITY is that index.json's device, inode, size, modification and change
 * times ({@code -}: none known): while index.json still has them, it is the file the digest was taken of, and a
 * mount reads neither it nor a digest of it. It is only written for a file whose change time was over a second
 * old when it was read: any change after that, even one of the same size within the same clock tick, gives the
 * file a later change time, which nobody can set back. That is stat's word on this host: a store on a network
 * file system changed from another host may show its old attributes for as long as the client caches them, and
 * an image mount meanwhile sees the index as it was. A version 1 file (no identity) is used as one with none.
 */
public record MountableImage(Digest manifestDigest, Digest id, List<String> names, List<Digest> diffIds,
                             List<String> blobs) implements ImageReference.Named {
    private static final String FILE = "index.txt";
    private static final String HEADER = "layerfs index.txt 2 ";
    /** The identity of an index.json none is known of. */
    static final String NO_IDENTITY = "-";
    /** What index.txt's first line starts with, in this version and the first (whose lines are the same). */
    private static final String[] HEADERS = {HEADER, "layerfs index.txt 1 "};
    /** How old index.json's change time must be for its identity to be recorded. */
    private static final long SETTLED_NANOS = 1_000_000_000L;

    /** index.txt as read: the digest and identity of the index.json it holds for, and its images. */
    private record Cache(String digestHex, String identity, List<MountableImage> images) {}

    /** The image reference and the selector, split at the last '@' (none: all layers). */
    public static String[] split(String ref) {
        return LayerSelection.split(ref);
    }

    /** The image {@code ref} names in the store, by {@link ImageReference#resolve}'s rules. */
    public static MountableImage resolve(LayerStore store, String ref) throws ImageStoreException {
        return ImageReference.resolve(ref, all(store), store.root());
    }

    /**
     * Every image of index.json as it is now: from index.txt where its identity is index.json's, else from
     * index.txt where its digest is, else from the JSON (index.txt is then written again, with the identity).
     */
    private static List<MountableImage> all(LayerStore store) throws ImageStoreException {
        String before = identity(store.indexFile());
        if (before == null) {
            return List.of();
        }
        Cache cache = read(store);
        if (cache != null && !before.equals(NO_IDENTITY) && cache.identity().equals(before)) {
            return cache.images();
        }
        byte[] json = readIndex(store);
        if (json == null) {
            return List.of();
        }
        String identity = !before.equals(NO_IDENTITY) && before.equals(identity(store.indexFile())) && settled(before)
                ? before : NO_IDENTITY;
        String hex = Digest.of(json).hex();
        if (cache == null || !cache.digestHex().equals(hex)) {
            return refresh(store, new ImageIndex(store), json, identity);
        }
        if (!identity.equals(NO_IDENTITY)) {
            write(store, hex, identity, cache.images());
        }
        return cache.images();
    }

    /**
     * index.json's bytes (null: none), read here rather than by {@link ImageIndex}: loading that class loads
     * Jackson's, which a mount needs only where index.txt is stale.
     */
    private static byte[] readIndex(LayerStore store) throws ImageStoreException {
        try {
            return Files.readAllBytes(store.indexFile());
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new ImageStoreException("cannot read " + store.indexFile() + ": " + e.getMessage(), e);
        }
    }

    /**
     * A file's device, inode, size, modification and change times (in nanoseconds) as one string; {@code -} where
     * stat gives no change time; null where there is no file.
     */
    private static String identity(Path file) throws ImageStoreException {
        Map<String, Object> a;
        try {
            a = Files.readAttributes(file, "unix:dev,ino,size,lastModifiedTime,ctime");
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException | UnsupportedOperationException e) {
            return NO_IDENTITY;
        }
        Object ctime = a.get("ctime");
        if (!(ctime instanceof FileTime c)) {
            return NO_IDENTITY;
        }
        return a.get("dev") + "," + a.get("ino") + "," + a.get("size") + ","
                + ((FileTime) a.get("lastModifiedTime")).to(TimeUnit.NANOSECONDS) + "," + c.to(TimeUnit.NANOSECONDS);
    }

    /** Whether the change time an identity holds is over {@link #SETTLED_NANOS} old. */
    private static boolean settled(String identity) {
        long ctime = Long.parseLong(identity.substring(identity.lastIndexOf(',') + 1));
        return ctime < System.currentTimeMillis() * 1_000_000L - SETTLED_NANOS;
    }

    /** The diff_ids of the layers {@code selector} (as in {@code IMAGE@N}, {@code null}: all) selects, base first. */
    public List<Digest> layers(String selector) throws ImageStoreException {
        return diffIds.subList(0, LayerSelection.count(diffIds, blobs, selector));
    }

    /**
     * Rewrites index.txt for index.json as {@code json} holds it (just written, or read), reading the manifest and
     * config only of the images the current file does not describe; the images. {@code identity}: index.json's,
     * where known to be that of the file {@code json} was read from ({@code -}: none). A file that cannot be
     * written is left as it is (stale, so unused).
     */
    static List<MountableImage> refresh(LayerStore store, ImageIndex index, byte[] json, String identity)
            throws ImageStoreException {
        Map<Digest, MountableImage> known = new HashMap<>();
        Cache previous = read(store);
        if (previous != null) {
            for (MountableImage m : previous.images()) {
                known.put(m.manifestDigest(), m);
            }
        }
        List<MountableImage> all = new ArrayList<>();
        for (ImageIndex.Entry e : index.entries(json)) {
            MountableImage m = known.get(e.manifest());
            all.add(m != null ? new MountableImage(m.manifestDigest, m.id, e.names(), m.diffIds, m.blobs)
                    : of(index.load(e.manifest(), e.names())));
        }
        write(store, Digest.of(json).hex(), identity, all);
        return all;
    }

    private static MountableImage of(Image image) throws ImageStoreException {
        List<String> blobs = new ArrayList<>();
        for (JsonNode d : image.layerDescriptors()) {
            blobs.add(d.path("digest").asText(""));
        }
        return new MountableImage(image.manifestDigest(), image.id(), image.names(), image.diffIds(), blobs);
    }

    /** index.txt, if there is one in this format (or the first). */
    private static Cache read(LayerStore store) {
        List<String> lines;
        try {
            // a FileInputStream: Files.readAllBytes's channel and temporary direct buffer cost the mount 1 ms more
            try (FileInputStream in = new FileInputStream(store.root().resolve(FILE).toFile())) {
                lines = lines(in.readAllBytes());
            }
        } catch (IOException e) {
            return null;
        }
        String[] header = lines.isEmpty() ? new String[0] : lines.get(0).split(" ");
        if (header.length < 4 || header.length > 5 || !(lines.get(0).startsWith(HEADERS[0])
                || lines.get(0).startsWith(HEADERS[1]))) {
            return null;
        }
        List<MountableImage> out = new ArrayList<>();
        Digest manifest = null;
        Digest id = null;
        List<String> names = null;
        List<Digest> diffIds = null;
        List<String> blobs = null;
        try {
            for (String line : lines.subList(1, lines.size())) {
                if (line.startsWith("image ")) {
                    if (manifest != null) {
                        out.add(new MountableImage(manifest, id, names, diffIds, blobs));
                    }
                    manifest = new Digest(line.substring(6, 70));
                    id = new Digest(line.substring(71));
                    names = new ArrayList<>();
                    diffIds = new ArrayList<>();
                    blobs = new ArrayList<>();
                } else if (line.startsWith("name ") && manifest != null) {
                    names.add(utf8(line.substring(5)));
                } else if (line.startsWith("layer ") && manifest != null) {
                    diffIds.add(new Digest(line.substring(6, 70)));
                    blobs.add(utf8(line.substring(71)));
                } else {
                    return null;
                }
            }
        } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
            return null;
        }
        if (manifest != null) {
            out.add(new MountableImage(manifest, id, names, diffIds, blobs));
        }
        return new Cache(header[3], header.length == 5 ? header[4] : NO_IDENTITY, out);
    }

    /**
     * The lines of index.txt, each without its line feed (and a carriage return before it), each line's bytes one
     * char each: ISO-8859-1, a copy, where UTF-8 decoding would look at every byte in the interpreter, some 100 ns
     * each, a millisecond of an image mount on a 60-layer image. {@link #utf8} decodes a line that may be other
     * than ASCII.
     */
    private static List<String> lines(byte[] text) {
        String all = new String(text, StandardCharsets.ISO_8859_1);
        List<String> out = new ArrayList<>();
        int start = 0;
        while (start < all.length()) {
            int end = all.indexOf('\n', start);
            int next = end < 0 ? all.length() : end + 1;
            if (end < 0) {
                end = all.length();
            }
            if (end > start && all.charAt(end - 1) == '\r') {
                end--;
            }
            out.add(all.substring(start, end));
            start = next;
        }
        return out;
    }

    /** A line of {@link #lines} as the UTF-8 it was written in. */
    private static String utf8(String line) {
        return new String(line.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
    }

    /** Writes index.txt (through a rename); not at all where a name or digest would not fit on one line. */
    private static void write(LayerStore store, String digestHex, String identity, List<MountableImage> all) {
        StringBuilder sb = new StringBuilder(HEADER).append(digestHex).append(' ').append(identity).append('\n');
        for (MountableImage m : all) {
            sb.append("image ").append(m.manifestDigest.hex()).append(' ').append(m.id.hex()).append('\n');
            for (String n : m.names) {
                if (!oneLine(n)) {
                    return;
                }
                sb.append("name ").append(n).append('\n');
            }
            for (int i = 0; i < m.diffIds.size(); i++) {
                String blob = i < m.blobs.size() ? m.blobs.get(i) : "";
                if (!oneLine(blob)) {
                    return;
                }
                sb.append("layer ").append(m.diffIds.get(i).hex()).append(' ').append(blob).append('\n');
            }
        }
        try {
            Path root = store.root();
            LayerStore.writeAtomically(root.resolve("tmp"), root.resolve(FILE),
                    sb.toString().getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            // a store this user may read but not write: every mount reads the JSON instead
        }
    }

    private static boolean oneLine(String s) {
        return s.indexOf('\n') < 0 && s.indexOf('\r') < 0;
    }
}
