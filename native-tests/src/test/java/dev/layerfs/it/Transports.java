package dev.layerfs.it;

/**
 * Which FUSE transport the daemons of this run use: {@code -Dlayerfs.transport=kernel} (the pom hands it to every
 * launch as LAYERFS_TRANSPORT) or the default, libfuse2. For the few tests whose expectation is a documented
 * property of one transport.
 */
public final class Transports {
    private Transports() {}

    public static String current() {
        String t = System.getProperty("layerfs.transport", "");
        return t.isEmpty() ? "libfuse2" : t;
    }

    public static boolean kernel() {
        return current().equals("kernel");
    }
}
