package dev.layerfs.fuse;

import dev.layerfs.core.nativeio.Syscalls;
import dev.layerfs.fuse.kernel.KernelSession;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import java.util.Properties;

/** The {@code layerfs} command. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        // The default charset is ISO-8859-1 for the FUSE binding (see OverlayFuse); what people read is UTF-8.
        System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8));
        System.exit(run(args));
    }

    static int run(String[] args) {
        if (args.length == 1 && args[0].equals("--train-startup")) {
            return StartupTraining.run(false);
        }
        if (args.length == 1 && args[0].equals("--train-startup-image-mount")) {
            return StartupTraining.run(true);
        }
        // jnr-ffi binds the calls a mount makes first (Syscalls) on the second core while the command line is read
        // and logging set up; the main thread waits for the binding at its first use of Syscalls.
        Thread bind = new Thread(Syscalls::get, "libc-bind");
        bind.setDaemon(true);
        bind.start();
        if (args.length > 0 && args[0].equals(ImageMountCommand.FLAG)) {
            return ImageMountCommand.run(Arrays.copyOfRange(args, 1, args.length));
        }
        return mount(args, Optional.empty());
    }

    /** The {@code layerfs} command proper: mounts and serves; an ephemeral layer made in {@code tmpDir}, if given. */
    static int mount(String[] args, Optional<Path> tmpDir) {
        CommandLine cl;
        try {
            cl = CommandLine.parse(args);
        } catch (UsageException e) {
            System.err.println("layerfs: " + e.getMessage());
            return 2;
        }
        cl.tmpDir = tmpDir;
        if (cl.help) {
            System.out.print(CommandLine.USAGE);
            return 0;
        }
        if (cl.version) {
            System.out.println(versionLine(cl.transport));
            return 0;
        }
        configureLogging(cl.debug);
        for (String unknown : cl.options.unknown) {
            System.err.println("layerfs: warning: unknown option " + unknown + " ignored");
        }
        try {
            return new MountDaemon(cl).run();
        } catch (MountException e) {
            System.err.println("layerfs: " + e.getMessage());
            cl.readyFile.ifPresent(f -> MountDaemon.writeReady(f, "error: " + e.getMessage()));
            return 1;
        }
    }

    private static void configureLogging(boolean debug) {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", debug ? "debug" : "warn");
        System.setProperty("org.slf4j.simpleLogger.showThreadName", "false");
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
    }

    /**
     * One line (podman shows it): the version, the transport this command would use, and the FUSE protocol each
     * transport speaks. The kernel's own minor is known only once it sends INIT, at mount time (-d logs it).
     */
    static String versionLine(String transport) {
        return "layerfs version " + version() + " (transport " + transport + "; " + TransportChoice.KERNEL
                + (TransportChoice.DEFAULT.equals(TransportChoice.KERNEL) ? ", the default" : "")
                + ": FUSE up to " + KernelSession.PROTOCOL + " over /dev/fuse, as much as the kernel offers; "
                + TransportChoice.LIBFUSE2
                + (TransportChoice.DEFAULT.equals(TransportChoice.LIBFUSE2) ? ", the default" : "")
                + ": FUSE " + Libfuse2Transport.PROTOCOL + " through jnr-fuse and libfuse 2.9)";
    }

    static String version() {
        try (InputStream in = Main.class.getResourceAsStream("layerfs.properties")) {
            Properties p = new Properties();
            if (in != null) {
                p.load(in);
            }
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
