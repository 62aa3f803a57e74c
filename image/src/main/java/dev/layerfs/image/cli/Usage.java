package dev.layerfs.image.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * What one subcommand takes: its options (each with the label of its value, or none for a flag) and its
 * positional parameters, with the text of its help. {@link Args#parse} reads a command line against it.
 */
final class Usage {
    /** An option: its names ("-o", "--output"), the label of its value (null: a flag), its help. */
    record Option(List<String> names, String label, String help, boolean required) {
        String primary() {
            return names.get(names.size() - 1);
        }

        boolean takesValue() {
            return label != null;
        }
    }

    /** A positional parameter; {@code min}/{@code max} how many arguments it takes (max -1: any number). */
    record Positional(String label, String help, int min, int max) {}

    final String name;
    final String description;
    final List<Option> options = new ArrayList<>();
    final List<Positional> positionals = new ArrayList<>();

    Usage(String name, String description) {
        this.name = name;
        this.description = description;
        option("--store", "DIR", "the layer store (default: $LAYERFS_STORE, else /var/lib/layerfs as root)");
    }

    Usage option(String name, String label, String help) {
        options.add(new Option(List.of(name), label, help, false));
        return this;
    }

    Usage option(List<String> names, String label, String help, boolean required) {
        options.add(new Option(names, label, help, required));
        return this;
    }

    Usage flag(String name, String help) {
        options.add(new Option(List.of(name), null, help, false));
        return this;
    }

    Usage positional(String label, String help) {
        positionals.add(new Positional(label, help, 1, 1));
        return this;
    }

    Usage positionals(String label, String help, int min) {
        positionals.add(new Positional(label, help, min, -1));
        return this;
    }

    Option find(String name) {
        for (Option o : options) {
            if (o.names().contains(name)) {
                return o;
            }
        }
        return null;
    }

    /** The usage line: "layerfs image NAME [OPTIONS] POSITIONALS". */
    String line() {
        StringBuilder sb = new StringBuilder("layerfs image ").append(name);
        for (Option o : options) {
            String one = o.primary() + (o.takesValue() ? " " + o.label() : "");
            sb.append(' ').append(o.required() ? one : "[" + one + "]");
        }
        for (Positional p : positionals) {
            String one = p.max() < 0 ? p.label() + "..." : p.label();
            sb.append(' ').append(p.min() == 0 ? "[" + one + "]" : one);
        }
        return sb.toString();
    }

    void printHelp(PrintStream out) {
        out.println("Usage: " + line());
        out.println(description);
        List<String[]> rows = new ArrayList<>();
        for (Positional p : positionals) {
            rows.add(new String[] {p.label(), p.help()});
        }
        for (Option o : options) {
            rows.add(new String[] {String.join(", ", o.names()) + (o.takesValue() ? " " + o.label() : ""), o.help()});
        }
        rows.add(new String[] {"-h, --help", "show this help"});
        int width = rows.stream().mapToInt(r -> r[0].length()).max().orElse(0);
        for (String[] r : rows) {
            out.println("  " + r[0] + " ".repeat(width - r[0].length() + 2) + r[1]);
        }
    }
}
