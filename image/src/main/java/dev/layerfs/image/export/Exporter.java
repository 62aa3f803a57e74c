package dev.layerfs.image.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.layerfs.image.extract.Decompression;
import dev.layerfs.image.store.Digest;
import dev.layerfs.image.store.Image;
import dev.layerfs.image.store.ImageStoreException;
import dev.layerfs.image.store.Json;
import dev.layerfs.image.store.LayerInfo;
import dev.layerfs.image.store.LayerStore;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * {@code image export}: an image as the archives {@code podman load} and {@code docker load} read.
 * docker-archive: manifest.json, the config as HEX.json, each layer uncompressed as HEX/layer.tar (HEX its
 * diff_id). oci-archive: an OCI layout (oci-layout, index.json naming the image, blobs as stored). Entries have
 * mtime 0, so the same image gives the same archive. Written beside the target and renamed into place.
 */
public final class Exporter {
    public enum Format {
        DOCKER_ARCHIVE, OCI_ARCHIVE
    }

    private final LayerStore store;

    public Exporter(LayerStore store) {
        this.store = store;
    }

    public void export(Image image, String name, Path target, Format format) throws ImageStoreException {
        Path abs = target.toAbsolutePath();
        Path tmp = abs.resolveSibling("." + abs.getFileName() + ".part");
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16);
             TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
            if (format == Format.DOCKER_ARCHIVE) {
                dockerArchive(image, name, tar);
            } else {
                ociArchive(image, name, tar);
            }
            tar.finish();
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the error below is the one to report
            }
            throw new ImageStoreException("cannot export to " + target + ": " + e.getMessage(), e);
        }
        try {
            Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new ImageStoreException("cannot write " + target + ": " + e.getMessage(), e);
        }
    }

    private void dockerArchive(Image image, String name, TarArchiveOutputStream tar)
            throws IOException, ImageStoreException {
        String configName = image.configDigest().hex() + ".json";
        file(tar, configName, Files.readAllBytes(store.blob(image.configDigest())));
        ArrayNode manifest = Json.array();
        ObjectNode entry = manifest.addObject();
        entry.put("Config", configName);
        ArrayNode tags = entry.putArray("RepoTags");
        if (name != null) {
            tags.add(name);
        }
        ArrayNode layers = entry.putArray("Layers");
        List<Digest> diffIds = image.diffIds();
        List<JsonNode> descs = image.layerDescriptors();
        Set<Digest> written = new HashSet<>();
        for (int i = 0; i < diffIds.size(); i++) {
            Digest diffId = diffIds.get(i);
            String layerName = diffId.hex() + "/layer.tar";
            layers.add(layerName);
            if (!written.add(diffId)) {
                continue;
            }
            Digest blob = Json.digest(descs.get(i), "digest", "manifest layer");
            TarArchiveEntry e = entry(layerName, LayerInfo.read(store, diffId).size());
            tar.putArchiveEntry(e);
            try (InputStream in = Decompression.open(Files.newInputStream(store.blob(blob)))) {
                in.transferTo(tar);
            }
            tar.closeArchiveEntry();
        }
        file(tar, "manifest.json", Json.bytes(manifest));
    }

    private void ociArchive(Image image, String name, TarArchiveOutputStream tar)
            throws IOException, ImageStoreException {
        file(tar, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}".getBytes());
        ObjectNode index = Json.object();
        index.put("schemaVersion", 2);
        ObjectNode desc = Json.descriptor(Json.OCI_MANIFEST, image.manifestDigest(),
                Files.size(store.blob(image.manifestDigest())));
        if (name != null) {
            desc.putObject("annotations").put(Json.REF_NAME, name);
        }
        index.putArray("manifests").add(desc);
        file(tar, "index.json", Json.bytes(index));
        Set<Digest> written = new HashSet<>();
        blob(tar, image.manifestDigest(), written);
        blob(tar, image.configDigest(), written);
        for (JsonNode l : image.layerDescriptors()) {
            blob(tar, Json.digest(l, "digest", "manifest layer"), written);
        }
    }

    private void blob(TarArchiveOutputStream tar, Digest d, Set<Digest> written) throws IOException {
        if (!written.add(d)) {
            return;
        }
        Path p = store.blob(d);
        tar.putArchiveEntry(entry("blobs/sha256/" + d.hex(), Files.size(p)));
        Files.copy(p, tar);
        tar.closeArchiveEntry();
    }

    private static void file(TarArchiveOutputStream tar, String name, byte[] content) throws IOException {
        tar.putArchiveEntry(entry(name, content.length));
        tar.write(content);
        tar.closeArchiveEntry();
    }

    private static TarArchiveEntry entry(String name, long size) {
        TarArchiveEntry e = new TarArchiveEntry(name, true);
        e.setSize(size);
        e.setMode(0644);
        e.setModTime(0);
        return e;
    }
}
