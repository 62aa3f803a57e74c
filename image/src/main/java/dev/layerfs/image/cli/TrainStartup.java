package dev.layerfs.image.cli;

import dev.layerfs.image.store.Digest;
import dev.layerfs.image.store.Json;
import dev.layerfs.image.store.LayerStore;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import picocli.CommandLine.Command;

/**
 * {@code layerfs image --train-startup} (bin/layerfs runs it under -XX:ArchiveClassesAtExit at {@code make build}):
 * imports a two-file image into a temporary store and runs ls, history, blame and waste on it, so that the
 * class-data archive holds the classes every image command loads. Its output is thrown away.
 */
@Command(name = "--train-startup", hidden = true)
final class TrainStartup implements Callable<Integer> {
    @Override
    public Integer call() throws Exception {
        Path dir = Files.createTempDirectory("layerfs-image-training-");
        PrintStream out = System.out;
        System.setOut(new PrintStream(OutputStream.nullOutputStream()));
        try {
            Path archive = dir.resolve("image.tar");
            writeArchive(archive);
            String store = dir.resolve("store").toString();
            for (String[] args : new String[][] {{"import", archive.toString()}, {"ls"}, {"history", "train"},
                    {"history", "--format", "json", "train"}, {"blame", "train"}, {"waste", "train"}}) {
                String[] full = new String[args.length + 2];
                System.arraycopy(args, 0, full, 0, args.length);
                full[args.length] = "--store";
                full[args.length + 1] = store;
                ImageCommand.run(full);
            }
        } finally {
            System.setOut(out);
            LayerStore.deleteTree(dir);
        }
        return 0;
    }

    private static void writeArchive(Path file) throws IOException {
        ByteArrayOutputStream layer = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(layer)) {
            put(tar, "etc/hostname", "training\n".getBytes());
            put(tar, "etc/.wh.motd", new byte[0]);
        }
        byte[] layerBytes = layer.toByteArray();
        var config = Json.MAPPER.createObjectNode();
        config.put("created", "2024-01-01T00:00:00Z");
        config.putObject("rootfs").put("type", "layers").putArray("diff_ids").add(Digest.of(layerBytes).toString());
        config.putArray("history").addObject().put("created_by", "training");
        byte[] configBytes = Json.bytes(config);
        String configName = Digest.of(configBytes).hex() + ".json";
        var manifest = Json.MAPPER.createArrayNode();
        var entry = manifest.addObject();
        entry.put("Config", configName);
        entry.putArray("RepoTags").add("localhost/train:latest");
        entry.putArray("Layers").add("layer.tar");
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(Files.newOutputStream(file))) {
            put(tar, configName, configBytes);
            put(tar, "layer.tar", layerBytes);
            put(tar, "manifest.json", Json.bytes(manifest));
        }
    }

    private static void put(TarArchiveOutputStream tar, String name, byte[] content) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name, true);
        e.setSize(content.length);
        tar.putArchiveEntry(e);
        tar.write(content);
        tar.closeArchiveEntry();
    }
}
