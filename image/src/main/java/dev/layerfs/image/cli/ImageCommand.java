package dev.layerfs.image.cli;

import dev.layerfs.image.names.ByteNames;
import dev.layerfs.image.store.ImageStoreException;
import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * {@code layerfs image ...}: bin/layerfs runs this class for a first argument {@code image}, with the rest of the
 * command line, and the launcher's own path in LAYERFS_LAUNCHER (what {@code image mount} runs to mount).
 * Exit status: 0 done, 1 the command failed (one line saying why), 2 a command line it cannot take (one line and
 * the usage line). The command line is read by {@link Args} against each command's {@link Usage}: a few dozen
 * lines, held by the class-data archive, so that reading it costs a command no start-up time.
 */
public final class ImageCommand {
    static final String VERSION = "layerfs image 0.1";
    private static final String DESCRIPTION = "Import, inspect, mount and build container images in a layer store.";

    /** The commands in the order the help lists them. */
    private static final List<Subcommand> COMMANDS = List.of(new ImportCommand(), new LsCommand(),
            new HistoryCommand(), new MountCommand(), new DiffCommand(), new CommitCommand(), new ExportCommand(),
            new BlameCommand(), new WasteCommand(), new RmCommand(), new PruneCommand());

    private ImageCommand() {}

    public static void main(String[] args) {
        // Output is UTF-8 whatever the JVM's locale (bin/layerfs runs it in ISO-8859-1 for the file names)
        System.setOut(utf8(FileDescriptor.out));
        System.setErr(utf8(FileDescriptor.err));
        int rc = run(args);
        System.out.flush();
        System.err.flush();
        System.exit(rc);
    }

    private static PrintStream utf8(FileDescriptor fd) {
        return new PrintStream(new BufferedOutputStream(new FileOutputStream(fd), 8192), true,
                StandardCharsets.UTF_8);
    }

    public static int run(String[] argv) {
        List<String> args = storeAfterSubcommand(argv);
        if (args.isEmpty()) {
            return usageError(null, "missing subcommand");
        }
        String first = args.get(0);
        List<String> rest = args.subList(1, args.size());
        switch (first) {
            case "-h", "--help" -> {
                printHelp();
                return 0;
            }
            case "-V", "--version" -> {
                System.out.println(VERSION);
                return 0;
            }
            case "--train-startup" -> {
                return TrainStartup.run();
            }
            case "help" -> {
                if (rest.isEmpty()) {
                    printHelp();
                    return 0;
                }
                Subcommand c = find(rest.get(0));
                if (c == null) {
                    return usageError(null, "unknown subcommand " + rest.get(0));
                }
                c.usage().printHelp(System.out);
                return 0;
            }
            default -> {
                Subcommand c = find(first);
                if (c == null) {
                    return usageError(null, "unknown subcommand " + first);
                }
                return runCommand(c, rest);
            }
        }
    }

    private static int runCommand(Subcommand c, List<String> rest) {
        try {
            Args a = Args.parse(c.usage(), rest);
            if (a.help()) {
                c.usage().printHelp(System.out);
                return 0;
            }
            return c.run(a);
        } catch (UsageException e) {
            return usageError(c.usage(), e.getMessage());
        } catch (ImageStoreException e) {
            System.err.println("layerfs image: " + ByteNames.displayMessage(e.getMessage()));
            return 1;
        } catch (Exception e) {
            System.err.println("layerfs image " + c.usage().name + ": " + ByteNames.displayMessage(String.valueOf(
                    e.getMessage() != null ? e.getMessage() : e)));
            return 1;
        }
    }

    private static Subcommand find(String name) {
        String n = name.equals("list") ? "ls" : name;
        for (Subcommand c : COMMANDS) {
            if (c.usage().name.equals(n)) {
                return c;
            }
        }
        return null;
    }

    private static int usageError(Usage usage, String message) {
        System.err.println("layerfs image: " + message);
        System.err.println("Usage: " + (usage != null ? usage.line() : "layerfs image [--help] [--version] COMMAND"
                + " [ARGS...]"));
        return 2;
    }

    private static void printHelp() {
        PrintStream out = System.out;
        out.println("Usage: layerfs image [--help] [--version] COMMAND [ARGS...]");
        out.println(DESCRIPTION);
        out.println("Commands:");
        int width = 8;
        for (Subcommand c : COMMANDS) {
            Usage u = c.usage();
            out.println("  " + u.name + " ".repeat(width - u.name.length()) + u.description);
        }
        out.println("  help" + " ".repeat(width - 4) + "help COMMAND: what COMMAND takes");
        out.println("Each command takes --store DIR (default: $LAYERFS_STORE, else /var/lib/layerfs as root)"
                + " and --help.");
    }

    /** {@code --store DIR} may come before the subcommand too ({@code layerfs image --store DIR ls}). */
    static List<String> storeAfterSubcommand(String[] args) {
        return Args.storeAfterSubcommand(Arrays.asList(args));
    }
}
