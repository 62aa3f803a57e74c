package dev.layerfs.image.store;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What mounting an image needs of it: its names, ID and manifest digest (to resolve a reference as
 * {@link ImageIndex#resolve} does), and its layers' diff_ids and blob digests, base first (for {@code @N} and
 * {@code @DIGEST}). Read from the store's {@code index.txt}: the same for every image of index.json, as lines of
 * text, so that a mount parses no JSON and loads no JSON library:
 * <pre>
 * layerfs index.txt 1 SHA256-OF-INDEX.JSON
 * image MANIFEST-HEX CONFIG-HEX
 * name NAME                          (each of its names)
 * layer DIFF-ID-HEX BLOB-DIGEST      (each layer, base first)
 * </pre>
 * It holds for the index.json whose digest its first line gives; any other index.json (changed by a program that
 * does not know this file, or by a command killed between the two renames) makes it stale, and the next resolution
 * rebuilds it from the JSON. An image's lines never go stale otherwise: they come from its manifest and config,
 * which its manifest digest fixes.
 */
public record MountableImage(Digest manifestDigest, Digest id, List<String> names, List<Digest> diffIds,
                             List<String> blobs) implements ImageIndex.Named {
    private static final String FILE = "index.txt";
    private static final String HEADER = "layerfs index.txt 1 ";

    /** The image reference and the selector, split at the last '@' (none: all layers). */
    public static String[] split(String ref) {
        return LayerSelection.split(ref);
    }

    /** The image {@code ref} names in the store, by {@link ImageIndex#resolve}'s rules. */
    public static MountableImage resolve(LayerStore store, String ref) throws ImageStoreException {
        ImageIndex index = new ImageIndex(store);
        byte[] json = index.readBytes();
        List<MountableImage> all = List.of();
        if (json != null) {
            String header = HEADER + Digest.of(json).hex();
            all = read(store, header);
            if (all == null) {
                all = refresh(store, index, json);
            }
        }
        return ImageIndex.resolve(ref, all, store.root());
    }

    /** The diff_ids of the layers {@code selector} (as in {@code IMAGE@N}, {@code null}: all) selects, base first. */
    public List<Digest> layers(String selector) throws ImageStoreException {
        return diffIds.subList(0, LayerSelection.count(diffIds, blobs, selector));
    }

    /**
     * Rewrites index.txt for index.json as {@code json} holds it (just written, or read), reading the manifest and
     * config only of the images the current file does not describe; the images. A file that cannot be written is
     * left as it is (stale, so unused).
     */
    static List<MountableImage> refresh(LayerStore store, ImageIndex index, byte[] json)
            throws ImageStoreException {
        Map<Digest, MountableImage> known = new HashMap<>();
        List<MountableImage> previous = read(store, null);
        if (previous != null) {
            for (MountableImage m : previous) {
                known.put(m.manifestDigest(), m);
            }
        }
        List<MountableImage> all = new ArrayList<>();
        for (ImageIndex.Entry e : index.entries(json)) {
            MountableImage m = known.get(e.manifest());
            all.add(m != null ? new MountableImage(m.manifestDigest, m.id, e.names(), m.diffIds, m.blobs)
                    : of(index.load(e.manifest(), e.names())));
        }
        write(store, HEADER + Digest.of(json).hex(), all);
        return all;
    }

    private static MountableImage of(Image image) throws ImageStoreException {
        List<String> blobs = new ArrayList<>();
        for (JsonNode d : image.layerDescriptors()) {
            blobs.add(d.path("digest").asText(""));
        }
        return new MountableImage(image.manifestDigest(), image.id(), image.names(), image.diffIds(), blobs);
    }

    /** The images index.txt lists, if its header is {@code header} (any header: {@code null}); else null. */
    private static List<MountableImage> read(LayerStore store, String header) {
        List<String> lines;
        try {
            lines = Files.readAllLines(store.root().resolve(FILE), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            return null;
        }
        if (lines.isEmpty() || !(header == null ? lines.get(0).startsWith(HEADER) : lines.get(0).equals(header))) {
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
                    names.add(line.substring(5));
                } else if (line.startsWith("layer ") && manifest != null) {
                    diffIds.add(new Digest(line.substring(6, 70)));
                    blobs.add(line.substring(71));
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
        return out;
    }

    /** Writes index.txt (through a rename); not at all where a name or digest would not fit on one line. */
    private static void write(LayerStore store, String header, List<MountableImage> all) {
        StringBuilder sb = new StringBuilder(header).append('\n');
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
