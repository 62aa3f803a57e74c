package dev.layerfs.fuse;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.handle.OpenFile;
import dev.layerfs.core.model.Caller;
import dev.layerfs.core.model.OverlayConfig;
import dev.layerfs.core.nativeio.Linux;
import dev.layerfs.fuse.kernel.KernelSession;
import dev.layerfs.fuse.kernel.PassthroughMode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * {@code layerfs --train-startup}, run once by {@code make build} under -XX:ArchiveClassesAtExit: it loads the
 * classes a mount loads (the libc and libfuse bindings, the engine on a scratch overlay, the kernel transport's
 * session, dispatcher and node table, the FUSE callback table) without mounting anything, so that the class-data
 * archive the launcher then uses makes every mount start faster. Needs neither root nor /dev/fuse.
 */
final class StartupTraining {
    private StartupTraining() {}

    static int run() {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("layerfs-train-");
            Path lower = Files.createDirectories(dir.resolve("lower/d"));
            Files.writeString(lower.resolve("f"), "training");
            Path upper = Files.createDirectory(dir.resolve("upper"));
            Path work = Files.createDirectory(dir.resolve("work"));
            try (Overlay overlay = Overlay.open(OverlayConfig.writable(List.of(dir.resolve("lower")), upper, work))) {
                Caller me = new Caller(0, 0);
                overlay.readdir("/d");
                overlay.getattr("/d/f");
                OpenFile f = overlay.open("/d/f", Linux.O_RDWR);
                overlay.write(f, "t".getBytes(), 1, 0);
                overlay.release(f);
                overlay.mkdir("/n", 0755, me);
                overlay.rename("/d/f", "/n/g", 0);
                overlay.unlink("/n/g");
                overlay.listxattr("/n");
                overlay.statfs();
                KernelSession.create(overlay, new KernelSession.Options("layerfs", dir.resolve("m"), false, true,
                        true, true, true, 2, 1.0, PassthroughMode.UPPER));
                OverlayFuse fuse = new OverlayFuse(overlay);
                fuse.operations();
                CommandLine.parse(new String[] {"-o", "lowerdir=/a:/b,upperdir=/u,workdir=/w", "/m"});
                try {
                    Preflight.requireFuse();
                } catch (MountException e) {
                    // Not installed here: the archive simply holds less.
                }
            }
            return 0;
        } catch (Exception e) {
            System.err.println("layerfs: startup training failed: " + e.getMessage());
            return 1;
        } finally {
            if (dir != null) {
                try (Stream<Path> walk = Files.walk(dir)) {
                    for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                        Files.deleteIfExists(p);
                    }
                } catch (IOException e) {
                    System.err.println("layerfs: cannot delete " + dir + ": " + e.getMessage());
                }
            }
        }
    }
}
