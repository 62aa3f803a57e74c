package dev.layerfs.image.cli;

import dev.layerfs.image.store.Digest;
import dev.layerfs.image.store.Json;
import dev.layerfs.image.store.LayerStore;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * {@code layerfs image --train-startup} (bin/layerfs runs it under -XX:ArchiveClassesAtExit at {@code make build}):
 * imports a two-file image into a temporary store and runs ls, history, blame and waste on it, and imports it as
 * an OCI layout with a gzip layer twice (the second time every layer is present), so that the class-data archive
 * holds the classes every image command and both import paths load. Its output is thrown away.
 */
final class TrainStartup {
    private TrainStartup() {}

    static int run() {
        try {
            train();
            return 0;
        } catch (IOException e) {
            System.err.println("layerfs image --train-startup: " + e.getMessage());
            return 1;
        }
    }

    private static void train() throws IOException {
        Path dir = Files.createTempDirectory("layerfs-image-training-");
        PrintStream out = System.out;
        System.setOut(new PrintStream(OutputStream.nullOutputStream()));
        try {
            byte[] layer = layerTar();
            Path archive = dir.resolve("image.tar");
            writeDockerArchive(archive, layer);
            Path oci = dir.resolve("oci");
            writeOciLayout(oci, layer);
            ImageCommand.run(new String[] {"--version"});
            ImageCommand.run(new String[] {"help"});
            String store = dir.resolve("store").toString();
            for (String[] args : new String[][] {{"import", archive.toString()}, {"ls"}, {"history", "train"},
                    {"history", "--format", "json", "train"}, {"blame", "train"}, {"waste", "train"}}) {
                ImageCommand.run(withStore(args, store));
            }
            // an OCI layout with a gzip layer, imported, then imported again with every layer present
            String ociStore = dir.resolve("oci-store").toString();
            ImageCommand.run(withStore(new String[] {"import", oci.toString()}, ociStore));
            ImageCommand.run(withStore(new String[] {"import", oci.toString()}, ociStore));
        } finally {
            System.setOut(out);
            LayerStore.deleteTree(dir);
        }
    }

    private static String[] withStore(String[] args, String store) {
        String[] full = Arrays.copyOf(args, args.length + 2);
        full[args.length] = "--store";
        full[args.length + 1] = store;
        return full;
    }

    private static byte[] layerTar() throws IOException {
        ByteArrayOutputStream layer = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(layer)) {
            put(tar, "etc/hostname", "training\n".getBytes(StandardCharsets.US_ASCII));
            put(tar, "etc/.wh.motd", new byte[0]);
        }
        return layer.toByteArray();
    }

    private static byte[] config(byte[] layer) {
        var config = Json.object();
        config.put("created", "2024-01-01T00:00:00Z");
        config.putObject("rootfs").put("type", "layers").putArray("diff_ids").add(Digest.of(layer).toString());
        config.putArray("history").addObject().put("created_by", "training");
        return Json.bytes(config);
    }

    private static void writeDockerArchive(Path file, byte[] layer) throws IOException {
        byte[] configBytes = config(layer);
        String configName = Digest.of(configBytes).hex() + ".json";
        var manifest = Json.array();
        var entry = manifest.addObject();
        entry.put("Config", configName);
        entry.putArray("RepoTags").add("localhost/train:latest");
        entry.putArray("Layers").add("layer.tar");
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(Files.newOutputStream(file))) {
            put(tar, configName, configBytes);
            put(tar, "layer.tar", layer);
            put(tar, "manifest.json", Json.bytes(manifest));
        }
    }

    private static void writeOciLayout(Path dir, byte[] layer) throws IOException {
        Path blobs = Files.createDirectories(dir.resolve("blobs/sha256"));
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(gz)) {
            out.write(layer);
        }
        byte[] layerBlob = gz.toByteArray();
        byte[] configBytes = config(layer);
        var manifest = Json.object();
        manifest.put("schemaVersion", 2);
        manifest.put("mediaType", Json.OCI_MANIFEST);
        manifest.set("config", Json.descriptor(Json.OCI_CONFIG, Digest.of(configBytes), configBytes.length));
        manifest.putArray("layers").add(Json.descriptor("application/vnd.oci.image.layer.v1.tar+gzip",
                Digest.of(layerBlob), layerBlob.length));
        byte[] manifestBytes = Json.bytes(manifest);
        for (byte[] blob : List.of(layerBlob, configBytes, manifestBytes)) {
            Files.write(blobs.resolve(Digest.of(blob).hex()), blob);
        }
        var index = Json.object();
        index.put("schemaVersion", 2);
        var m = Json.descriptor(Json.OCI_MANIFEST, Digest.of(manifestBytes), manifestBytes.length);
        m.putObject("annotations").put(Json.REF_NAME, "localhost/train:oci");
        index.putArray("manifests").add(m);
        Files.write(dir.resolve("index.json"), Json.bytes(index));
        Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
    }

    private static void put(TarArchiveOutputStream tar, String name, byte[] content) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name, true);
        e.setSize(content.length);
        tar.putArchiveEntry(e);
        tar.write(content);
        tar.closeArchiveEntry();
    }
}
