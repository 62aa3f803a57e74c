package dev.layerfs.image.cli;

import dev.layerfs.image.names.ByteNames;
import dev.layerfs.image.store.ImageStoreException;
import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code layerfs image ...}: bin/layerfs runs this class for a first argument {@code image}, with the rest of the
 * command line, and the launcher's own path in LAYERFS_LAUNCHER (what {@code image mount} runs to mount).
 */
@Command(name = "layerfs image", mixinStandardHelpOptions = true, version = "layerfs image 0.1",
        description = "Import, inspect, mount and build container images in a layer store.",
        subcommands = {ImportCommand.class, LsCommand.class, HistoryCommand.class, MountCommand.class,
            DiffCommand.class, CommitCommand.class, ExportCommand.class, BlameCommand.class, WasteCommand.class,
            RmCommand.class, PruneCommand.class, TrainStartup.class,
            CommandLine.HelpCommand.class})
public final class ImageCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand");
    }

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

    public static int run(String[] args) {
        args = storeAfterSubcommand(args);
        CommandLine cl = new CommandLine(new ImageCommand());
        cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            if (e instanceof ImageStoreException) {
                System.err.println("layerfs image: " + ByteNames.displayMessage(e.getMessage()));
                return 1;
            }
            throw e;
        });
        return cl.execute(args);
    }

    /** {@code --store DIR} may come before the subcommand too ({@code layerfs image --store DIR ls}). */
    static String[] storeAfterSubcommand(String[] args) {
        java.util.List<String> a = new java.util.ArrayList<>(java.util.Arrays.asList(args));
        java.util.List<String> store = new java.util.ArrayList<>();
        while (!a.isEmpty() && (a.get(0).equals("--store") || a.get(0).startsWith("--store="))) {
            store.add(a.remove(0));
            if (store.get(store.size() - 1).equals("--store") && !a.isEmpty()) {
                store.add(a.remove(0));
            }
        }
        if (!store.isEmpty() && !a.isEmpty()) {
            a.addAll(1, store);
        }
        return a.toArray(String[]::new);
    }
}
