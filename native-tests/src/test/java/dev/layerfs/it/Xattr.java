package dev.layerfs.it;

import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/** Extended attributes through the attr tools, as a user would: setfattr and getfattr processes. */
public final class Xattr {
    private Xattr() {}

    public static Sh.Result set(Path p, String name, String value) {
        return Sh.run("setfattr", "-h", "-n", name, "-v", value, p.toString());
    }

    public static Sh.Result remove(Path p, String name) {
        return Sh.run("setfattr", "-h", "-x", name, p.toString());
    }

    /** One value (text), or fails. */
    public static String get(Path p, String name) {
        return Sh.ok("getfattr", "-h", "--only-values", "-n", name, p.toString()).stdout();
    }

    public static Sh.Result tryGet(Path p, String name) {
        return Sh.run("getfattr", "-h", "--only-values", "-n", name, p.toString());
    }

    /** Every xattr name and value getfattr shows (all namespaces, -m -). */
    public static Map<String, String> all(Path p) {
        Sh.Result r = Sh.ok("getfattr", "-h", "--absolute-names", "-d", "-m", "-", p.toString());
        Map<String, String> out = new TreeMap<>();
        for (String line : r.stdout().split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int eq = line.indexOf('=');
            String name = eq < 0 ? line : line.substring(0, eq);
            String value = eq < 0 ? "" : line.substring(eq + 1);
            if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
                value = value.substring(1, value.length() - 1);
            }
            out.put(name, value);
        }
        return out;
    }
}
