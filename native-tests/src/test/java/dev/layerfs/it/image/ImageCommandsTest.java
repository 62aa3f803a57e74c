package dev.layerfs.it.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.layerfs.it.Daemon;
import dev.layerfs.it.MountExtension;
import dev.layerfs.it.MountInfo;
import dev.layerfs.it.ResidentDaemon;
import dev.layerfs.it.Sh;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * {@code layerfs image} against podman and umoci on the same images (make-images.sh: a busybox base and a
 * Containerfile that adds, changes and deletes files, replaces a directory, adds a hard link, a symlink, a fifo,
 * a setuid file, a 64 MiB sparse file and a file with a binary security.capability), saved as docker-archive,
 * oci-archive and oci-dir: five layers, and an ENV step that made none.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ImageCommandsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int LAYERS = 5;
    private ImageLab lab;

    @BeforeAll
    void build() {
        lab = ImageLab.create();
    }

    @AfterAll
    void tearDown() {
        if (lab != null) {
            lab.close();
        }
    }

    @Test
    @Order(1)
    void importsEveryFormatAndExtractsEachLayerOnce() {
        String first = ImageLab.ok(lab.layerfs("import", lab.dir.resolve("app-docker.tar").toString()));
        assertEquals(LAYERS, count(first, ": Extracted "), first);
        assertTrue(first.contains("Loaded image: localhost/app:latest"), first);

        String oci = ImageLab.ok(lab.layerfs("import", lab.dir.resolve("app-oci.tar").toString(), "--tag",
                "localhost/app:oci"));
        assertEquals(0, count(oci, ": Extracted "), "the layers are extracted already: " + oci);

        String dir = ImageLab.ok(lab.layerfs("import", lab.dir.resolve("app-oci-dir").toString(), "--tag",
                "localhost/app:dir"));
        assertEquals(LAYERS, count(dir, ": Already exists"), dir);

        String again = ImageLab.ok(lab.layerfs("import", lab.dir.resolve("app-docker.tar").toString()));
        assertEquals(LAYERS, count(again, ": Already exists"), again);

        String ls = ImageLab.ok(lab.layerfs("ls"));
        for (String tag : List.of("latest", "oci", "dir")) {
            assertTrue(ls.lines().anyMatch(l -> l.startsWith("localhost/app") && l.contains(" " + tag + " ")), ls);
        }
    }

    @Test
    @Order(2)
    void theMountedImageIsPodmansAndUmocisTree() throws IOException {
        Path mnt = lab.mkdir("mnt-full");
        ImageLab.ok(lab.layerfs("mount", "app", mnt.toString()));
        try {
            assertTrue(MountInfo.isMounted(mnt));
            // made in one JVM: the mount's own process resolved the image, no image command JVM mounted through it
            List<Daemon> daemons = Daemon.forMountPoint(mnt);
            assertEquals(1, daemons.size(), "one process serves the mount: " + daemons);
            assertTrue(daemons.get(0).cmdline().contains("--image-mount"), daemons.get(0).cmdline().toString());
            JsonNode record = record(mnt);
            assertEquals(LAYERS, record.path("diffIds").size(), record.toString());
            assertEquals(ImageLab.ok(lab.podman("inspect", "--format", "{{range .RootFS.Layers}}{{.}} {{end}}",
                    "localhost/app")).strip(), String.join(" ", texts(record.path("diffIds"))),
                    "the record's layers are the image's");
            String ours = lab.tree(mnt);
            Path podmans = Path.of(ImageLab.ok(lab.podman("image", "mount", "localhost/app")).strip());
            assertEquals(lab.tree(podmans), ours, "layerfs image mount against podman image mount");
            assertTrue(ours.lines().anyMatch(l -> l.startsWith("./data/capbin ")
                    && l.contains("security.capability=0x0100000280000000") && l.contains("user.note=0x68656c6c6f")),
                    "the binary capability and the user xattr are kept:\n" + ours);
            ImageLab.ok(lab.podman("image", "unmount", "localhost/app"));

            Path bundle = lab.dir.resolve("umoci-bundle");
            ImageLab.ok(lab.umoci("unpack", "--image", lab.dir.resolve("app-oci-dir") + ":localhost/app:latest",
                    bundle.toString()));
            assertEquals(lab.tree(bundle.resolve("rootfs")), ours, "layerfs image mount against umoci unpack");
            assertTrue(Sh.run("touch", mnt.resolve("data/x").toString()).exitCode() != 0, "read-only by default");
        } finally {
            Sh.ok("umount", mnt.toString());
        }
    }

    @Test
    @Order(3)
    void eachIntermediateMountIsTheImagePodmanBuiltAtThatStep() throws IOException {
        int compared = 0;
        for (String id : ImageLab.ok(lab.podman("images", "-a", "-q", "--no-trunc")).lines().toList()) {
            int layers = Integer.parseInt(ImageLab.ok(lab.podman("inspect", "--format", "{{len .RootFS.Layers}}",
                    id)).strip());
            Path mnt = lab.mkdir("mnt-step-" + layers + "-" + compared);
            ImageLab.ok(lab.layerfs("mount", "app@" + layers, mnt.toString()));
            try {
                Path podmans = Path.of(ImageLab.ok(lab.podman("image", "mount", id)).strip());
                assertEquals(lab.tree(podmans), lab.tree(mnt), "app@" + layers + " against podman's " + id);
                ImageLab.ok(lab.podman("image", "unmount", id));
            } finally {
                Sh.ok("umount", mnt.toString());
            }
            compared++;
        }
        assertTrue(compared >= LAYERS, "podman's intermediate images compared: " + compared);
        // @DIGEST: the second layer by a prefix of its diff_id
        JsonNode config = JSON.readTree(ImageLab.ok(lab.podman("inspect", "localhost/app")));
        String second = config.get(0).path("RootFS").path("Layers").get(1).asText().substring(7, 19);
        Path mnt = lab.mkdir("mnt-digest");
        ImageLab.ok(lab.layerfs("mount", "app@" + second, mnt.toString()));
        try {
            assertTrue(Files.exists(mnt.resolve("opq/old")), "after layer 2, /opq is the old directory");
            assertTrue(Files.exists(mnt.resolve("data/b")), "after layer 2, /data/b is not deleted yet");
        } finally {
            Sh.ok("umount", mnt.toString());
        }
    }

    @Test
    @Order(3)
    void anImageMountThatFailsLeavesNothingBehind() throws IOException {
        Path mnt = lab.mkdir("mnt-fail");
        Path missing = lab.dir.resolve("no-such-upper");
        record Case(List<String> args, String stderr, int status) {}
        for (Case c : List.of(
                new Case(List.of("mount", "nope", mnt.toString()), "layerfs image: no image nope in the store ", 1),
                new Case(List.of("mount", "app@99", mnt.toString()), "layerfs image: @99: the image has layers 1 to "
                        + LAYERS, 1),
                new Case(List.of("mount", "app", lab.dir.resolve("no-such-mnt").toString()),
                        "layerfs image: mount point ", 1),
                // refused by the mount itself, once the image was resolved and the mount recorded
                new Case(List.of("mount", "app", mnt.toString(), "-o", "upperdir=" + missing + ",workdir="
                        + lab.dir.resolve("no-such-work")), "layerfs: ", 1))) {
            Sh.Result r = lab.layerfs(c.args().toArray(String[]::new));
            assertEquals(c.status(), r.exitCode(), r.toString());
            assertEquals(1, r.stderrLines().size(), r.toString());
            assertTrue(r.stderr().startsWith(c.stderr()), r.toString());
            assertTrue(!MountInfo.isMounted(mnt), "nothing mounted: " + r);
            assertEquals(List.of(), Daemon.mentioning(mnt), "no daemon left: " + r);
            assertEquals(null, recordOrNull(mnt), "no record left: " + r);
        }
        Sh.Result usage = lab.layerfs("mount", "app");
        assertEquals(2, usage.exitCode(), usage.toString());
        assertEquals(List.of("layerfs image: missing MOUNTPOINT",
                "Usage: layerfs image mount [--store DIR] [-o OPTIONS] IMAGE[@N|@DIGEST] MOUNTPOINT"),
                usage.stderrLines(), usage.toString());
    }

    @Test
    @Order(3)
    void throughLayerfsServeAnImageMountStartsNoJvm() throws Exception {
        Path byHand = lab.mkdir("mnt-serve-ref");
        ImageLab.ok(lab.layerfs("mount", "app@2", byHand.toString()));
        String expected;
        try {
            expected = lab.tree(byHand);
        } finally {
            Sh.ok("umount", byHand.toString());
        }
        Path mnt = lab.mkdir("mnt-serve");
        try (ResidentDaemon serve = ResidentDaemon.start(lab.mkdir("serve"))) {
            Sh.Result r = serve.layerfs("image", "--store", lab.store.toString(), "mount", "app@2", mnt.toString(),
                    "-o", "ephemeral");
            assertEquals(0, r.exitCode(), r.toString());
            try {
                assertTrue(MountInfo.isMounted(mnt));
                assertEquals(List.of(), Daemon.forMountPoint(mnt), "the resident daemon serves it, no JVM of its own");
                assertTrue(serve.log().contains("mounted " + mnt), serve.log());
                assertEquals(expected, lab.tree(mnt), "app@2 through the daemon against app@2 in a process");
                Files.writeString(mnt.resolve("hello"), "hi\n");
                assertTrue(ImageLab.ok(lab.layerfs("diff", mnt.toString())).lines().anyMatch("A /hello"::equals));
                List<Path> ephemeral = list(recordDir(mnt).resolve("tmp"));
                assertEquals(1, ephemeral.size(), "the ephemeral layer is in the record's tmp/: " + ephemeral);
                assertTrue(ephemeral.get(0).getFileName().toString().startsWith("layerfs-ephemeral-"), ephemeral
                        .toString());
                Sh.Result again = serve.layerfs("image", "--store", lab.store.toString(), "mount", "app",
                        mnt.toString());
                assertEquals(1, again.exitCode(), again.toString());
                assertEquals(List.of("layerfs image: " + mnt + " is already an image mount: unmount it first"),
                        again.stderrLines(), again.toString());
            } finally {
                Sh.ok("umount", mnt.toString());
            }
            Path tmp = recordDir(mnt).resolve("tmp");
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!list(tmp).isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(List.of(), list(tmp), "the ephemeral layer is deleted at unmount");
            Sh.Result error = serve.layerfs("image", "--store", lab.store.toString(), "mount", "nope",
                    mnt.toString());
            assertEquals(1, error.exitCode(), error.toString());
            assertEquals(List.of("layerfs image: no image nope in the store " + lab.store), error.stderrLines());
            // From another mount namespace the daemon, which resolves the store and mount point in its own, leaves
            // the image mount to a process of the client's, made where the client is.
            Path elsewhere = lab.mkdir("mnt-serve-other-namespace");
            Sh.run(List.of("unshare", "-m", "--propagation", "private", MountExtension.launcher().toString(),
                    "image", "--store", lab.store.toString(), "mount", "app", elsewhere.toString()), serve.env(),
                    lab.dir, Duration.ofSeconds(60)).assertOk();
            List<Daemon> own = Daemon.forMountPoint(elsewhere);
            try {
                assertEquals(1, own.size(), "a process of its own serves it: " + own);
                assertFalse(serve.log().contains("mounted " + elsewhere), serve.log());
            } finally {
                for (Daemon d : own) {
                    ProcessHandle.of(d.pid()).ifPresent(ProcessHandle::destroy);   // SIGTERM: it unmounts and ends
                    if (!d.awaitExit(Duration.ofSeconds(20))) {
                        d.kill();
                    }
                }
            }
            assertEquals(List.of(), serve.problems(), serve.log());
        }
    }

    @Test
    @Order(4)
    void historyHasPodmansRows() throws IOException {
        JsonNode podmans = JSON.readTree(ImageLab.ok(lab.podman("history", "--format", "json", "localhost/app")));
        JsonNode ours = JSON.readTree(ImageLab.ok(lab.layerfs("history", "--format", "json", "app")));
        assertEquals(podmans.size(), ours.size(), ours.toPrettyString());
        for (int i = 0; i < ours.size(); i++) {
            assertEquals(podmans.get(i).path("CreatedBy").asText(), ours.get(i).path("createdBy").asText());
            assertEquals(podmans.get(i).path("size").asLong(), ours.get(i).path("size").asLong(), "row " + i);
            assertEquals(podmans.get(i).path("comment").asText(), ours.get(i).path("comment").asText());
        }
        String table = ImageLab.ok(lab.layerfs("history", "app"));
        assertTrue(table.lines().skip(2).allMatch(l -> l.startsWith("<missing>")), table);
        assertTrue(table.contains("ENV LAYERFS_TEST=1") && table.contains("0 B"), "the empty_layer row: " + table);
    }

    @Test
    @Order(5)
    void anEphemeralChangeCommittedAndExportedRunsInPodman() throws IOException {
        Path mnt = lab.mkdir("mnt-eph");
        ImageLab.ok(lab.layerfs("mount", "app@2", mnt.toString(), "-o", "ephemeral"));
        String first;
        String second;
        try {
            Files.writeString(mnt.resolve("data/new"), "hello\n");
            Files.writeString(mnt.resolve("data/a"), "mod\n");
            // names are bytes: a name that is not UTF-8 (this JVM's file APIs cannot write it, the shell can)
            Sh.ok("sh", "-c", "printf 'bytes\\n' > \"$1/data/$(printf 'new\\377')\"", "sh", mnt.toString());
            Files.delete(mnt.resolve("data/b"));
            Sh.ok("rm", "-rf", mnt.resolve("opq").toString());
            Files.createDirectories(mnt.resolve("opq"));
            Files.writeString(mnt.resolve("opq/fresh"), "x\n");
            String diff = ImageLab.ok(lab.layerfs("diff", mnt.toString()));
            for (String line : List.of("A /data/new", "A /data/new\\xff", "C /data/a", "D /data/b", "C /opq",
                    "A /opq/fresh")) {
                assertTrue(diff.lines().anyMatch(line::equals), line + " in:\n" + diff);
            }
            first = ImageLab.ok(lab.layerfs("commit", mnt.toString(), "--tag", "localhost/app:mine",
                    "--created-by", "echo hello > /data/new"));
            second = ImageLab.ok(lab.layerfs("commit", mnt.toString(), "--tag", "localhost/app:mine2"));
        } finally {
            Sh.ok("umount", mnt.toString());
        }
        String layer = first.lines().filter(l -> l.startsWith("layer ")).findFirst().orElseThrow();
        assertTrue(second.contains(layer), "the same upper layer gives the same layer digest:\n" + first + second);

        String history = ImageLab.ok(lab.layerfs("history", "--no-trunc", "app:mine"));
        assertTrue(history.lines().skip(1).findFirst().orElseThrow().contains("echo hello > /data/new"), history);
        assertEquals(4, history.lines().count() - 1, "3 steps up to layer 2, and the commit: " + history);

        for (String format : List.of("docker-archive", "oci-archive")) {
            Path out = lab.dir.resolve("mine-" + format + ".tar");
            ImageLab.ok(lab.layerfs("export", "app:mine", "-o", out.toString(), "--format", format));
            ImageLab.ok(lab.podman("rmi", "-f", "localhost/app:mine"));
            ImageLab.ok(lab.podman("load", "-i", out.toString()));
            String seen = ImageLab.ok(lab.podman("run", "--rm", "localhost/app:mine", "sh", "-c",
                    "cat /data/new /data/a \"/data/$(printf 'new\\377')\"; ls /opq; test -e /data/b || echo no-b"));
            assertEquals("hello\nmod\nbytes\nfresh\nno-b\n", seen, format);
        }
    }

    @Test
    @Order(6)
    void aCorruptOrTruncatedArchiveIsRefusedAndTheStoreIsUnchanged() throws IOException {
        // an empty store, so that no layer is already present
        ImageLab.ok(lab.layerfs("rm", "app", "app:oci", "app:dir", "app:mine", "app:mine2"));
        String before = lab.storeState();

        Path corrupt = lab.dir.resolve("corrupt-oci");
        Sh.ok("cp", "-a", lab.dir.resolve("app-oci-dir").toString(), corrupt.toString());
        Path blob = largestBlob(corrupt.resolve("blobs/sha256"));
        try (RandomAccessFile f = new RandomAccessFile(blob.toFile(), "rw")) {
            f.seek(f.length() / 2);
            int b = f.read();
            f.seek(f.length() / 2);
            f.write(b ^ 0x55);
        }
        Sh.Result r = lab.layerfs("import", corrupt.toString());
        assertEquals(1, r.exitCode(), r.toString());
        assertEquals(1, r.stderrLines().size(), r.toString());
        assertTrue(r.stderr().contains(blob.getFileName().toString().substring(0, 12)), r.toString());
        assertEquals(before, lab.storeState(), "store unchanged by a corrupt blob");

        Path truncated = lab.dir.resolve("truncated.tar");
        long size = Files.size(lab.dir.resolve("app-docker.tar"));
        Sh.ok("sh", "-c", "head -c " + (size * 2 / 3) + " " + lab.dir.resolve("app-docker.tar") + " > " + truncated);
        r = lab.layerfs("import", truncated.toString());
        assertEquals(1, r.exitCode(), r.toString());
        assertEquals(1, r.stderrLines().size(), r.toString());
        assertEquals(before, lab.storeState(), "store unchanged by a truncated archive");
    }

    @Test
    @Order(7)
    void anImportKilledMidwayCompletesOnTheNextRun() throws Exception {
        Path archive = lab.dir.resolve("app-docker.tar");
        ProcessBuilder pb = new ProcessBuilder(dev.layerfs.it.MountExtension.launcher().toString(), "image",
                "--store", lab.store.toString(), "import", archive.toString());
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD);
        Process p = pb.start();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        // killed once it has begun extracting into tmp/ (or after it finished, which the retry also handles)
        while (p.isAlive() && !extracting(lab.store.resolve("tmp")) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        p.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.waitFor();
        String out = ImageLab.ok(lab.layerfs("import", archive.toString()));
        assertTrue(out.contains("Loaded image: localhost/app:latest"), out);
        try (Stream<Path> s = Files.list(lab.store.resolve("tmp"))) {
            assertEquals(List.of(), s.filter(x -> !x.getFileName().toString().startsWith(".")).toList(),
                    "the killed import's work directory is gone");
        }
        Path mnt = lab.mkdir("mnt-after-kill");
        ImageLab.ok(lab.layerfs("mount", "app", mnt.toString()));
        try {
            Path podmans = Path.of(ImageLab.ok(lab.podman("image", "mount", "localhost/app")).strip());
            assertEquals(lab.tree(podmans), lab.tree(mnt));
            ImageLab.ok(lab.podman("image", "unmount", "localhost/app"));
        } finally {
            Sh.ok("umount", mnt.toString());
        }
    }

    @Test
    @Order(8)
    void anImageMountInAnotherMountNamespaceKeepsItsLayers() throws IOException {
        Path mnt = lab.mkdir("mnt-other-namespace");
        // The mount is made in a mount namespace of its own (as a container runtime or `unshare -m` would), which
        // lives on in the mount's own process: this namespace never sees it, yet its layers are in use.
        Sh.run(List.of("unshare", "-m", "--propagation", "private", MountExtension.launcher().toString(), "image",
                "--store", lab.store.toString(), "mount", "app", mnt.toString()), Map.of(), lab.dir,
                Duration.ofSeconds(60)).assertOk();
        List<Daemon> daemons = Daemon.forMountPoint(mnt);
        try {
            assertEquals(1, daemons.size(), "the image mount's own process serves it: " + daemons);
            assertFalse(Files.readString(Path.of("/proc/self/mountinfo")).contains(" " + mnt + " "),
                    "the mount is not in this namespace");
            Sh.Result rm = lab.layerfs("rm", "app");
            assertEquals(1, rm.exitCode(), rm.toString());
            assertTrue(rm.stderr().contains("is mounted at " + mnt), rm.toString());
            String prune = ImageLab.ok(lab.layerfs("prune"));
            assertFalse(prune.contains("Deleted layer"), prune);
            JsonNode config = JSON.readTree(ImageLab.ok(lab.podman("inspect", "localhost/app")));
            for (JsonNode layer : config.get(0).path("RootFS").path("Layers")) {
                assertTrue(Files.isDirectory(lab.store.resolve("layers").resolve(layer.asText().substring(7))),
                        "layer " + layer.asText() + " kept");
            }
        } finally {
            for (Daemon d : daemons) {
                ProcessHandle.of(d.pid()).ifPresent(ProcessHandle::destroy);   // SIGTERM: it unmounts and ends
                if (!d.awaitExit(Duration.ofSeconds(20))) {
                    d.kill();
                }
            }
        }
    }

    @Test
    @Order(9)
    void nothingMountedIsRemoved() throws IOException {
        Path mnt = lab.mkdir("mnt-rm");
        Path byHand = lab.mkdir("mnt-by-hand");
        ImageLab.ok(lab.layerfs("mount", "app", mnt.toString()));
        JsonNode config = JSON.readTree(ImageLab.ok(lab.podman("inspect", "localhost/app")));
        String base = config.get(0).path("RootFS").path("Layers").get(0).asText().substring(7);
        Path baseRoot = lab.store.resolve("layers").resolve(base).resolve("root");
        try {
            Sh.Result r = lab.layerfs("rm", "app");
            assertEquals(1, r.exitCode(), r.toString());
            assertTrue(r.stderr().contains("mounted at"), r.toString());
            // the base layer mounted by hand with the plain layerfs command: rm must keep that layer
            Sh.ok(dev.layerfs.it.MountExtension.launcher().toString(), "-o", "lowerdir=" + baseRoot,
                    byHand.toString());
        } finally {
            Sh.ok("umount", mnt.toString());
        }
        try {
            String rm = ImageLab.ok(lab.layerfs("rm", "app"));
            assertTrue(rm.contains("Deleted: "), rm);
            assertEquals(LAYERS - 1, count(rm, "Deleted layer: "), rm);
            assertTrue(Files.isDirectory(baseRoot.resolve("bin")), "the layer mounted by hand is kept");
        } finally {
            Sh.ok("umount", byHand.toString());
        }
        lab.unmountAll();
        // the same, mounted by hand through a layerfs serve daemon: no process names the layer, the daemon's
        // record of the mount does
        Path throughDaemon = lab.mkdir("mnt-by-hand-serve");
        try (ResidentDaemon serve = ResidentDaemon.start(lab.mkdir("serve-prune"))) {
            serve.mount("lowerdir=" + baseRoot, throughDaemon);
            try {
                assertEquals(List.of(), Daemon.forMountPoint(throughDaemon), "the resident daemon serves it");
                String kept = ImageLab.ok(serve.layerfs("image", "--store", lab.store.toString(), "prune"));
                assertTrue(kept.contains("Kept layer " + base + ": in use by a mount"), kept);
                assertTrue(Files.isDirectory(baseRoot.resolve("bin")), "the layer mounted through the daemon is kept");
            } finally {
                Sh.ok("umount", throughDaemon.toString());
            }
        }
        String prune = ImageLab.ok(lab.layerfs("prune"));
        assertTrue(prune.contains("Deleted layer: " + base), prune);
        assertEquals(1, ImageLab.ok(lab.layerfs("ls")).lines().count(), "only the header is left");
    }

    @Test
    @Order(10)
    void concurrentImportsSharingLayersExtractEachOnce() throws Exception {
        Path store = lab.dir.resolve("store-concurrent");
        List<Process> imports = new java.util.ArrayList<>();
        List<Path> outputs = new java.util.ArrayList<>();
        for (String archive : List.of("app-docker.tar", "app-oci.tar")) {
            Path out = lab.dir.resolve("concurrent-" + archive + ".out");
            outputs.add(out);
            imports.add(new ProcessBuilder(dev.layerfs.it.MountExtension.launcher().toString(), "image", "--store",
                    store.toString(), "import", lab.dir.resolve(archive).toString(), "--tag",
                    "localhost/c:" + archive.replace('.', '-'))
                    .redirectErrorStream(true).redirectOutput(out.toFile()).start());
        }
        String all = "";
        for (int i = 0; i < imports.size(); i++) {
            assertTrue(imports.get(i).waitFor(120, java.util.concurrent.TimeUnit.SECONDS), "import finished");
            String out = Files.readString(outputs.get(i));
            assertEquals(0, imports.get(i).exitValue(), out);
            all += out;
        }
        assertEquals(LAYERS, count(all, ": Extracted "), "each shared layer extracted by one import only:\n" + all);
        try (Stream<Path> s = Files.list(store.resolve("layers"))) {
            assertEquals(LAYERS, s.count());
        }
    }

    /** The mount.json image mount wrote for a mount point (fails the test where there is none). */
    private JsonNode record(Path mnt) throws IOException {
        JsonNode r = recordOrNull(mnt);
        assertTrue(r != null, "no record of " + mnt + " in " + lab.store.resolve("mounts"));
        return r;
    }

    private JsonNode recordOrNull(Path mnt) throws IOException {
        Path dir = recordDirOrNull(mnt);
        return dir == null ? null : JSON.readTree(dir.resolve("mount.json").toFile());
    }

    private Path recordDir(Path mnt) throws IOException {
        Path dir = recordDirOrNull(mnt);
        assertTrue(dir != null, "no record of " + mnt);
        return dir;
    }

    private Path recordDirOrNull(Path mnt) throws IOException {
        Path mounts = lab.store.resolve("mounts");
        if (!Files.isDirectory(mounts)) {
            return null;
        }
        try (Stream<Path> s = Files.list(mounts)) {
            for (Path d : s.toList()) {
                Path json = d.resolve("mount.json");
                if (Files.exists(json) && JSON.readTree(json.toFile()).path("mountPoint").asText()
                        .equals(mnt.toRealPath().toString())) {
                    return d;
                }
            }
        }
        return null;
    }

    private static List<Path> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new java.util.ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static boolean extracting(Path tmp) {
        try (Stream<Path> s = Files.walk(tmp, 3)) {
            return s.anyMatch(p -> p.getFileName().toString().equals("root"));
        } catch (IOException e) {
            return false;
        }
    }

    private static Path largestBlob(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.max((a, b) -> Long.compare(a.toFile().length(), b.toFile().length())).orElseThrow();
        }
    }

    private static int count(String text, String needle) {
        return (int) text.lines().filter(l -> l.contains(needle)).count();
    }

}
