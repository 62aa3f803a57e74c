package dev.layerfs.image.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Process ids as /proc shows them: this process's, and whether another still runs. Not ProcessHandle, whose class
 * initialisation bootstraps a lambda (method handles), which a command that has nothing else to do, such as a
 * re-import, would pay for at start-up.
 */
final class Processes {
    private static final Path PROC = Path.of("/proc");

    private Processes() {}

    /** The pid of this process ({@code /proc/self} is a link named after it). */
    static long self() throws IOException {
        return Long.parseLong(Files.readSymbolicLink(PROC.resolve("self")).toString());
    }

    /** Whether a process {@code pid} exists (a zombie counts: its parent has not reaped it yet). */
    static boolean alive(long pid) {
        return pid > 0 && Files.isDirectory(PROC.resolve(Long.toString(pid)));
    }
}
