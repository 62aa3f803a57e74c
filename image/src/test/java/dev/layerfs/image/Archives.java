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
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/** Builds layer tars, docker-archives and OCI layouts for the tests, hostile ones included. */
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

    /** gzip of {@code data}. */
    static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(data);
        }
        return out.toByteArray();
    }

    /**
     * An OCI layout directory of one image named {@code name}: the layer blobs as given (gzip), and a config whose
     * diff_ids are {@code diffIds} (the digests of the uncompressed layers, unless a test lies).
     */
    static Path ociLayout(Path dir, String name, List<byte[]> blobs, List<Digest> diffIds) throws IOException {
        Path blobDir = Files.createDirectories(dir.resolve("blobs/sha256"));
        ObjectNode config = Json.object();
        config.put("architecture", "amd64");
        config.put("os", "linux");
        ArrayNode ids = config.putObject("rootfs").put("type", "layers").putArray("diff_ids");
        diffIds.forEach(d -> ids.add(d.toString()));
        byte[] configBytes = Json.bytes(config);
        ObjectNode manifest = Json.object();
        manifest.put("schemaVersion", 2);
        manifest.put("mediaType", Json.OCI_MANIFEST);
        manifest.set("config", Json.descriptor(Json.OCI_CONFIG, Digest.of(configBytes), configBytes.length));
        ArrayNode layers = manifest.putArray("layers");
        for (byte[] b : blobs) {
            layers.add(Json.descriptor("application/vnd.oci.image.layer.v1.tar+gzip", Digest.of(b), b.length));
            Files.write(blobDir.resolve(Digest.of(b).hex()), b);
        }
        byte[] manifestBytes = Json.bytes(manifest);
        Files.write(blobDir.resolve(Digest.of(configBytes).hex()), configBytes);
        Files.write(blobDir.resolve(Digest.of(manifestBytes).hex()), manifestBytes);
        ObjectNode index = Json.object();
        index.put("schemaVersion", 2);
        ObjectNode m = Json.descriptor(Json.OCI_MANIFEST, Digest.of(manifestBytes), manifestBytes.length);
        m.putObject("annotations").put(Json.REF_NAME, name);
        index.putArray("manifests").add(m);
        Files.write(dir.resolve("index.json"), Json.bytes(index));
        Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        return dir;
    }

    private static void put(TarArchiveOutputStream tar, String name, byte[] content) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name, true);
        e.setSize(content.length);
        tar.putArchiveEntry(e);
        tar.write(content);
        tar.closeArchiveEntry();
    }
}
