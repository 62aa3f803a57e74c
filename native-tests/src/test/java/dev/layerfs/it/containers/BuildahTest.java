package dev.layerfs.it.containers;

import static dev.layerfs.it.containers.ContainerHost.IMAGE;
import static dev.layerfs.it.containers.ContainerHost.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.layerfs.it.MountInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** buildah with layerfs as its overlay {@code mount_program}: from, run, copy, mount, commit, bud. */
class BuildahTest {
    static ContainerHost host;

    @BeforeAll
    static void host() {
        host = ContainerHost.create("buildah");
    }

    @AfterAll
    static void teardown() {
        if (host != null) {
            host.close();
        }
    }

    private static String buildah(String... args) {
        return ok(host.buildah(args));
    }

    private static String run(String container, String script) {
        return buildah("run", "--runtime", "runc", "--network", "none", container, "--", "sh", "-c", script);
    }

    @Test
    void fromRunCopyCommitAndARunOfTheCommittedImage() throws Exception {
        String c = buildah("from", "-q", IMAGE).strip();
        assertEquals("layerfs test image\n", run(c, "cat /etc/motd"));
        run(c, "echo built > /built && rm /etc/motd && mkdir -p /opt/app");
        Path file = host.dir().resolve("copied.txt");
        Files.writeString(file, "copied\n");
        buildah("copy", c, file.toString(), "/opt/app/copied.txt");
        assertEquals("built\ncopied\n", run(c, "cat /built /opt/app/copied.txt"));

        Path m = Path.of(buildah("mount", c).strip());
        try {
            assertEquals("fuse.layerfs", MountInfo.at(m).orElseThrow().fsType());
            assertEquals("built\n", Files.readString(m.resolve("built")));
            assertTrue(Files.notExists(m.resolve("etc/motd")), "deleted in the container");
        } finally {
            buildah("umount", c);
        }

        buildah("commit", "-q", c, "localhost/bah");
        buildah("rm", c);
        String d = buildah("from", "-q", "localhost/bah").strip();
        assertEquals(List.of("built", "copied", "no motd"),
                run(d, "cat /built /opt/app/copied.txt; test -e /etc/motd || echo no motd").lines().toList());
        buildah("rm", d);
        buildah("rmi", "localhost/bah");
    }

    @Test
    void budWithRunStepsThatAddChangeAndDeleteFiles() throws Exception {
        Path ctx = Files.createDirectories(host.dir().resolve("bud-ctx"));
        Files.writeString(ctx.resolve("ctx.txt"), "context\n");
        Files.writeString(ctx.resolve("Containerfile"), """
                FROM %s
                RUN echo one > /a && echo two > /b && mkdir -p /d/e && echo x > /d/e/f
                RUN echo changed > /a && rm /b && rm -r /d/e && rm /etc/motd
                COPY ctx.txt /ctx.txt
                RUN cat /a /ctx.txt > /summary
                """.formatted(IMAGE));
        buildah("bud", "--runtime", "runc", "--network", "none", "-q", "-t", "localhost/bud", ctx.toString());
        String c = buildah("from", "-q", "localhost/bud").strip();
        assertEquals(List.of("changed", "context", "gone"),
                run(c, "cat /summary; ls /b /d/e /etc/motd >/dev/null 2>&1 || echo gone").lines().toList());
        buildah("rm", c);
        buildah("rmi", "localhost/bud");
    }
}
