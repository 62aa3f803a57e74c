package dev.layerfs.image;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.layerfs.image.store.Digest;
import dev.layerfs.image.store.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/** Builds layer tars and docker-archives in memory for the tests, hostile ones included. */
final class Archives {
    private Archives() {}

    interface Body {
        void write(TarArchiveOutputStream tar) throws IOException;
    }

    static byte[] layer(Body body) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            body.write(tar);
        }
        return out.toByteArray();
    }

    static void dir(TarArchiveOutputStream tar, String name) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_DIR, true);
        e.setMode(0755);
        tar.putArchiveEntry(e);
        tar.closeArchiveEntry();
    }

    static void file(TarArchiveOutputStream tar, String name, String content) throws IOException {
        byte[] b = content.getBytes();
        TarArchiveEntry e = new TarArchiveEntry(name, true);
        e.setMode(0644);
        e.setSize(b.length);
        tar.putArchiveEntry(e);
        tar.write(b);
        tar.closeArchiveEntry();
    }

    static void link(TarArchiveOutputStream tar, String name, String target, byte type) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name, type, true);
        e.setLinkName(target);
        e.setMode(0777);
        tar.putArchiveEntry(e);
        tar.closeArchiveEntry();
    }

    /** A docker-archive of one image named {@code name} with these layers (base first). */
    static Path dockerArchive(Path file, String name, List<byte[]> layers) throws IOException {
        ObjectNode config = Json.object();
        config.put("architecture", "amd64");
        config.put("os", "linux");
        config.put("created", "2024-01-01T00:00:00Z");
        ArrayNode diffIds = config.putObject("rootfs").put("type", "layers").putArray("diff_ids");
        ArrayNode history = config.putArray("history");
        for (byte[] l : layers) {
            diffIds.add(Digest.of(l).toString());
            history.addObject().put("created", "2024-01-01T00:00:00Z").put("created_by", "step");
        }
        return dockerArchive(file, name, layers, Json.bytes(config));
    }

    static Path dockerArchive(Path file, String name, List<byte[]> layers, byte[] config) throws IOException {
        Digest configDigest = Digest.of(config);
        ArrayNode manifest = Json.array();
        ObjectNode entry = manifest.addObject();
        entry.put("Config", configDigest.hex() + ".json");
        entry.putArray("RepoTags").add(name);
        ArrayNode names = entry.putArray("Layers");
        try (OutputStream out = Files.newOutputStream(file);
             TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
            put(tar, configDigest.hex() + ".json", config);
            for (int i = 0; i < layers.size(); i++) {
                String n = "layer" + i + "/layer.tar";
                names.add(n);
                put(tar, n, layers.get(i));
            }
            put(tar, "manifest.json", Json.bytes(manifest));
        }
        return file;
    }

    private static void put(TarArchiveOutputStream tar, String name, byte[] content) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name, true);
        e.setSize(content.length);
        tar.putArchiveEntry(e);
        tar.write(content);
        tar.closeArchiveEntry();
    }
}
