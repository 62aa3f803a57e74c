package dev.layerfs.it.containers;

import static dev.layerfs.it.containers.ContainerHost.IMAGE;
import static dev.layerfs.it.containers.ContainerHost.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Rootful podman with the mount client (the installed {@code layerfs}) as its {@code mount_program} while a
 * {@code layerfs serve} daemon runs: the
 * mounts are handed over to the daemon (no layerfs process of their own) and containers run and write as without
 * it. {@code -Dlayerfs.daemon=serve} runs the whole of {@link PodmanTest} and {@link BuildahTest} this way.
 */
class PodmanThroughDaemonTest {
    @Test
    void containersRunAndWriteOnMountsTheDaemonServes() {
        ContainerHost host = ContainerHost.create("podman-serve", true);
        try {
            assertEquals("hello\n", ok(host.podman("run", "--rm", "--network=none", IMAGE, "echo", "hello")));
            ok(host.podman("run", "--name", "writer", "--network=none", IMAGE, "sh", "-c",
                    "echo data > /root/f && rm /etc/motd"));
            List<String> diff = ok(host.podman("diff", "writer")).lines().toList();
            assertTrue(diff.contains("A /root/f") && diff.contains("D /etc/motd"), diff.toString());
            assertEquals("data\n", ok(host.podman("run", "--rm", "--network=none", IMAGE, "sh", "-c",
                    "echo data > /tmp/x && cat /tmp/x")));
            host.removeContainer(ContainerHost.Store.LAYERFS, "writer");
            assertEquals(List.of(), host.daemons(), "no layerfs process of its own: the daemon served every mount");
            assertTrue(host.residentLog().contains("mounted "), host.residentLog());
        } finally {
            host.close();
        }
    }
}
