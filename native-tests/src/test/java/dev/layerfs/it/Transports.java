package dev.layerfs.it;

/**
 * Which FUSE transport the daemons of this run use: {@code -Dlayerfs.transport=libfuse2} (the pom hands it to every
 * launch as LAYERFS_TRANSPORT; its second surefire execution runs the mounted suites that way) or the default,
 * kernel. For the few tests whose expectation is a documented property of one transport.
 */
public final class Transports {
    private Transports() {}

    public static String current() {
        String t = System.getProperty("layerfs.transport", "");
        return t.isEmpty() ? "kernel" : t;
    }

    public static boolean kernel() {
        return current().equals("kernel");
    }
}
