package dev.layerfs.snapshotter.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.snapshotter.api.Info;
import dev.layerfs.snapshotter.api.Kind;
import dev.layerfs.snapshotter.api.Mount;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SnapshotStoreTest {
    @TempDir
    Path root;

    private static SnapshotError.Reason refusal(ThrowingCall call) {
        return assertThrows(SnapshotError.class, call::run).reason();
    }

    private interface ThrowingCall {
        void run() throws Exception;
    }

    /** base (committed) <- app (committed) <- KEY: the usual shape of an image and a container on it. */
    private SnapshotStore twoLayers() throws Exception {
        SnapshotStore store = SnapshotStore.open(root);
        store.prepare("base-active", "", Map.of());
        store.commit("base", "base-active", Map.of());
        store.prepare("app-active", "base", Map.of());
        store.commit("app", "app-active", Map.of("l", "v"));
        return store;
    }

    @Test
    void aSnapshotWithoutParentIsABindMountOfItsLayer() throws Exception {
        SnapshotStore store = SnapshotStore.open(root);
        List<Mount> mounts = store.prepare("k", "", Map.of());
        assertEquals(1, mounts.size());
        assertEquals("bind", mounts.get(0).getType());
        assertEquals(List.of("rw", "rbind"), mounts.get(0).getOptionsList());
        assertTrue(Files.isDirectory(Path.of(mounts.get(0).getSource())));
        assertEquals(mounts, store.mounts("k"));
    }

    @Test
    void anActiveSnapshotOnParentsIsALayerfsMountWithItsLayerAsUpper() throws Exception {
        SnapshotStore store = twoLayers();
        Mount m = store.prepare("c", "app", Map.of()).get(0);
        assertEquals("fuse3.layerfs", m.getType());
        List<String> o = m.getOptionsList();
        assertEquals(3, o.size(), o::toString);
        String lower = o.get(2);
        assertTrue(lower.startsWith("lowerdir="), lower);
        String[] layers = lower.substring("lowerdir=".length()).split(":");
        assertEquals(2, layers.length, "nearest parent first: " + lower);
        assertTrue(layers[0].endsWith("/snapshots/2/fs") && layers[1].endsWith("/snapshots/1/fs"), lower);
        assertTrue(o.get(0).startsWith("workdir=") && o.get(1).startsWith("upperdir="), o::toString);
    }

    @Test
    void viewsAreReadOnly() throws Exception {
        SnapshotStore store = twoLayers();
        Mount one = store.view("v1", "base", Map.of()).get(0);
        assertEquals("bind", one.getType());
        assertEquals(List.of("ro", "rbind"), one.getOptionsList());
        Mount two = store.view("v2", "app", Map.of()).get(0);
        assertEquals("fuse3.layerfs", two.getType());
        assertEquals("ro", two.getOptions(0));
        assertEquals(2, two.getOptionsCount(), "no upper layer: " + two);
    }

    @Test
    void containerdsErrors() throws Exception {
        SnapshotStore store = twoLayers();
        store.prepare("c", "app", Map.of());
        assertEquals(SnapshotError.Reason.ALREADY_EXISTS, refusal(() -> store.prepare("c", "app", Map.of())));
        assertEquals(SnapshotError.Reason.NOT_FOUND, refusal(() -> store.prepare("d", "nope", Map.of())));
        assertEquals(SnapshotError.Reason.INVALID_ARGUMENT, refusal(() -> store.prepare("d", "c", Map.of())),
                "a parent must be committed");
        assertEquals(SnapshotError.Reason.INVALID_ARGUMENT, refusal(() -> store.prepare("", "", Map.of())));
        assertEquals(SnapshotError.Reason.FAILED_PRECONDITION, refusal(() -> store.remove("app")), "has a child");
        assertEquals(SnapshotError.Reason.FAILED_PRECONDITION, refusal(() -> store.commit("x", "app", Map.of())),
                "only an active snapshot commits");
        assertEquals(SnapshotError.Reason.ALREADY_EXISTS, refusal(() -> store.commit("base", "c", Map.of())));
        assertEquals(SnapshotError.Reason.NOT_FOUND, refusal(() -> store.commit("x", "nope", Map.of())));
        assertEquals(SnapshotError.Reason.FAILED_PRECONDITION, refusal(() -> store.mounts("app")),
                "a committed snapshot has no mounts");
        assertEquals(SnapshotError.Reason.NOT_FOUND, refusal(() -> store.stat("nope")));
        assertEquals(SnapshotError.Reason.NOT_FOUND, refusal(() -> store.remove("nope")));
        assertEquals(SnapshotError.Reason.INVALID_ARGUMENT, refusal(() -> store.update(
                Info.newBuilder().setName("app").build(), List.of("parent"))));
    }

    @Test
    void commitKeepsTheLayerAndMeasuresIt() throws Exception {
        SnapshotStore store = twoLayers();
        Path upper = Path.of(store.prepare("c", "app", Map.of()).get(0).getOptions(1).substring("upperdir=".length()));
        Files.writeString(upper.resolve("f"), "x".repeat(5000));
        Files.createLink(upper.resolve("g"), upper.resolve("f"));
        DiskUsage active = store.usage("c");
        assertEquals(2, active.inodes(), "the root and one file with two names");
        assertTrue(active.size() >= 5000, active::toString);
        store.commit("done", "c", Map.of("k", "v"));
        Info info = store.stat("done");
        assertEquals(Kind.COMMITTED, info.getKind());
        assertEquals("app", info.getParent());
        assertEquals(Map.of("k", "v"), info.getLabelsMap());
        assertEquals(active, store.usage("done"));
        assertTrue(Files.exists(upper.resolve("f")), "the same directory, now a committed layer");
        assertEquals(SnapshotError.Reason.NOT_FOUND, refusal(() -> store.stat("c")));
    }

    @Test
    void removeDeletesTheLayer() throws Exception {
        SnapshotStore store = twoLayers();
        Path layer = Path.of(store.prepare("c", "app", Map.of()).get(0).getOptions(1).substring("upperdir=".length()));
        Files.writeString(layer.resolve("f"), "x");
        store.remove("c");
        assertFalse(Files.exists(layer.getParent()));
        store.remove("app");
        store.remove("base");
        assertEquals(List.of(), store.list(List.of()));
    }

    @Test
    void updateChangesLabelsOnly() throws Exception {
        SnapshotStore store = twoLayers();
        Info asked = Info.newBuilder().setName("app").setParent("ignored").putLabels("a", "1").putLabels("b", "2")
                .build();
        Info one = store.update(asked, List.of("labels.a"));
        assertEquals(Map.of("l", "v", "a", "1"), one.getLabelsMap());
        assertEquals("base", one.getParent());
        Info all = store.update(asked, List.of("labels"));
        assertEquals(Map.of("a", "1", "b", "2"), all.getLabelsMap());
        Info removed = store.update(Info.newBuilder().setName("app").build(), List.of("labels.b"));
        assertEquals(Map.of("a", "1"), removed.getLabelsMap());
        assertTrue(removed.getUpdatedAt().getSeconds() > 0, "updated is set");
    }

    @Test
    void everythingSurvivesAReopen() throws Exception {
        SnapshotStore store = twoLayers();
        store.prepare("c", "app", Map.of("x", "y"));
        List<Info> before = store.list(List.of());
        SnapshotStore again = SnapshotStore.open(root);
        assertEquals(before, again.list(List.of()));
        assertEquals(store.mounts("c"), again.mounts("c"));
        again.remove("c");
        SnapshotStore third = SnapshotStore.open(root);
        third.prepare("d", "app", Map.of());
        assertTrue(third.mounts("d").get(0).getOptions(1).endsWith("/snapshots/4/fs"),
                "the number of a removed snapshot (3) is not given again");
    }

    @Test
    void cleanupRemovesWhatNoRecordNames() throws Exception {
        SnapshotStore store = twoLayers();
        Path snapshots = root.resolve("snapshots");
        Files.createDirectories(snapshots.resolve("new-leftover/fs"));
        Files.createDirectories(snapshots.resolve("99/fs"));
        Files.writeString(snapshots.resolve("99/fs/f"), "x");
        List<Path> removed = store.cleanup();
        assertEquals(2, removed.size(), removed::toString);
        assertFalse(Files.exists(snapshots.resolve("99")));
        assertTrue(Files.isDirectory(snapshots.resolve("1/fs")));
        store.prepare("n", "app", Map.of());
    }

    @Test
    void aLeftoverDirectoryDoesNotBlockANewSnapshot() throws Exception {
        SnapshotStore store = SnapshotStore.open(root);
        Files.createDirectories(root.resolve("snapshots/1/fs"));
        Mount m = store.prepare("k", "", Map.of()).get(0);
        assertTrue(m.getSource().endsWith("/snapshots/2/fs"), m::toString);
    }

    @Test
    void listFilters() throws Exception {
        SnapshotStore store = twoLayers();
        store.prepare("c", "app", Map.of("containerd.io/snapshot.ref", "sha256:x"));
        assertEquals(List.of("c"), names(store.list(List.of("kind==active"))));
        assertEquals(List.of("app", "c"), names(store.list(List.of("parent==base", "kind==active"))));
        assertEquals(List.of("app"), names(store.list(List.of("labels.l==v,kind==committed"))));
        assertEquals(List.of("c"), names(store.list(List.of("labels.\"containerd.io/snapshot.ref\""))));
        assertEquals(List.of("base", "app"), names(store.list(List.of("name~=^(b|a)"))));
        assertEquals(List.of("base", "c"), names(store.list(List.of("name!=app"))));
        assertEquals(SnapshotError.Reason.INVALID_ARGUMENT, refusal(() -> store.list(List.of("name=="))));
    }

    private static List<String> names(List<Info> infos) {
        return infos.stream().map(Info::getName).toList();
    }

    @Test
    void aRootThatCannotGoIntoMountOptionsIsRefused() {
        IOException e = assertThrows(IOException.class, () -> SnapshotStore.open(root.resolve("a,b")));
        assertTrue(e.getMessage().contains("','"), e.getMessage());
        assertFalse(Files.exists(root.resolve("a,b")), "nothing created");
    }
}
