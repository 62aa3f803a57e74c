package dev.layerfs.image.store;

import java.io.FileInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * Process ids as /proc shows them: this process's, whether another still runs, and when it started. Not
 * ProcessHandle, whose class initialisation bootstraps a lambda (method handles) and sets up a thread pool, and
 * whose Info reads the command line and looks the user up, which a command that has nothing else to do, such as a
 * re-import, or an image mount, would pay for at start-up.
 */
final class Processes {
    private static final Path PROC = Path.of("/proc");

    private Processes() {}

    /** The pid of this process ({@code /proc/self} is a link named after it). */
    static long self() throws IOException {
        return Long.parseLong(Files.readSymbolicLink(PROC.resolve("self")).toString());
    }

    /**
     * When process {@code pid} started, in clock ticks after boot (the 22nd field of /proc/PID/stat, which with the
     * pid names one process across pid reuse); empty where there is no such process.
     */
    static OptionalLong startTicks(long pid) {
        byte[] stat;
        try (FileInputStream in = new FileInputStream("/proc/" + pid + "/stat")) {
            stat = in.readAllBytes();
        } catch (IOException e) {
            return OptionalLong.empty();
        }
        // the command name (field 2) is in parentheses and may hold anything: the fields after its last ')'
        String s = new String(stat, StandardCharsets.ISO_8859_1);
        int close = s.lastIndexOf(')');
        if (close < 0 || close + 2 > s.length()) {
            return OptionalLong.empty();
        }
        String[] after = s.substring(close + 2).split(" ");
        try {
            return after.length > 19 ? OptionalLong.of(Long.parseLong(after[19])) : OptionalLong.empty();
        } catch (NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    /** Whether a process {@code pid} exists (a zombie counts: its parent has not reaped it yet). */
    static boolean alive(long pid) {
        return pid > 0 && Files.isDirectory(PROC.resolve(Long.toString(pid)));
    }
}
