package dev.layerfs.image.importer;

import java.util.Locale;

/** Byte counts as podman prints them: decimal units, three significant digits, a space ("4.87 MB"). */
public final class Sizes {
    private static final String[] UNITS = {"B", "kB", "MB", "GB", "TB", "PB"};

    private Sizes() {}

    public static String human(long bytes) {
        double v = bytes;
        int u = 0;
        while (v >= 1000 && u < UNITS.length - 1) {
            v /= 1000;
            u++;
        }
        return trim(String.format(Locale.ROOT, "%.3g", v)) + " " + UNITS[u];
    }

    /** "%.3g" leaves trailing zeros ("4.00"); Go's %.3g, which podman uses, does not. */
    private static String trim(String s) {
        if (s.contains("e")) {
            return s;
        }
        if (s.contains(".")) {
            s = s.replaceAll("0+$", "");
            if (s.endsWith(".")) {
                s = s.substring(0, s.length() - 1);
            }
        }
        return s;
    }
}
