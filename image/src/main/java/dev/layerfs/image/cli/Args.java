package dev.layerfs.image.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A subcommand's command line, read against its {@link Usage}: options and positional arguments in any order,
 * {@code --name VALUE}, {@code --name=VALUE}, {@code -o VALUE}, {@code -oVALUE}, an option given again adds a
 * value, and {@code --} ends the options. Options are kept by their last (long) name.
 */
final class Args {
    private final Map<String, List<String>> options = new LinkedHashMap<>();
    private final List<String> positionals = new ArrayList<>();
    /** {@code -h} or {@code --help} was given as an option: the command line is not checked further. */
    private boolean help;

    private Args() {}

    static Args parse(Usage usage, List<String> argv) throws UsageException {
        Args a = new Args();
        boolean optionsEnded = false;
        for (int i = 0; i < argv.size(); i++) {
            String arg = argv.get(i);
            if (optionsEnded || arg.equals("-") || !arg.startsWith("-")) {
                a.positionals.add(arg);
                continue;
            }
            if (arg.equals("--")) {
                optionsEnded = true;
                continue;
            }
            if (arg.equals("-h") || arg.equals("--help")) {
                a.help = true;
                continue;
            }
            String name = arg;
            String value = null;
            int eq = arg.indexOf('=');
            if (arg.startsWith("--") && eq > 0) {
                name = arg.substring(0, eq);
                value = arg.substring(eq + 1);
            } else if (!arg.startsWith("--") && arg.length() > 2) {
                name = arg.substring(0, 2);
                value = arg.substring(2);
            }
            Usage.Option o = usage.find(name);
            if (o == null) {
                throw new UsageException("unknown option " + name);
            }
            if (!o.takesValue()) {
                if (value != null) {
                    throw new UsageException("the option " + name + " takes no value");
                }
                value = "";
            } else if (value == null) {
                if (i + 1 >= argv.size()) {
                    throw new UsageException("the option " + name + " needs a value (" + o.label() + ")");
                }
                value = argv.get(++i);
            }
            List<String> values = a.options.get(o.primary());
            if (values == null) {
                values = new ArrayList<>();
                a.options.put(o.primary(), values);
            }
            values.add(value);
        }
        if (!a.help) {
            a.check(usage);
        }
        return a;
    }

    private void check(Usage usage) throws UsageException {
        for (Usage.Option o : usage.options) {
            if (o.required() && !options.containsKey(o.primary())) {
                throw new UsageException("the option " + o.primary() + " " + o.label() + " is required");
            }
        }
        int min = 0;
        int max = 0;
        boolean unbounded = false;
        for (Usage.Positional p : usage.positionals) {
            min += p.min();
            max += Math.max(p.max(), 0);
            unbounded |= p.max() < 0;
        }
        if (positionals.size() < min) {
            int next = Math.min(positionals.size(), usage.positionals.size() - 1);
            Usage.Positional missing = usage.positionals.get(next);
            throw new UsageException("missing " + missing.label());
        }
        if (!unbounded && positionals.size() > max) {
            throw new UsageException("unexpected argument " + positionals.get(max));
        }
    }

    /**
     * A {@code layerfs image} command line with a {@code --store DIR} given before the subcommand moved after it
     * ({@code layerfs image --store DIR ls} is {@code ls --store DIR}).
     */
    static List<String> storeAfterSubcommand(List<String> args) {
        List<String> a = new ArrayList<>(args);
        List<String> store = new ArrayList<>();
        while (!a.isEmpty() && (a.get(0).equals("--store") || a.get(0).startsWith("--store="))) {
            store.add(a.remove(0));
            if (store.get(store.size() - 1).equals("--store") && !a.isEmpty()) {
                store.add(a.remove(0));
            }
        }
        if (!store.isEmpty() && !a.isEmpty()) {
            a.addAll(1, store);
        }
        return a;
    }

    boolean help() {
        return help;
    }

    boolean flag(String name) {
        return options.containsKey(name);
    }

    /** The option's value (its last, if given more than once), or {@code otherwise}. */
    String value(String name, String otherwise) {
        List<String> v = options.get(name);
        return v == null ? otherwise : v.get(v.size() - 1);
    }

    List<String> values(String name) {
        return options.getOrDefault(name, List.of());
    }

    int intValue(String name, int otherwise) throws UsageException {
        String v = value(name, null);
        if (v == null) {
            return otherwise;
        }
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new UsageException("the option " + name + " wants a number, not " + v);
        }
    }

    String positional(int i) {
        return positionals.get(i);
    }

    List<String> positionalsFrom(int i) {
        return positionals.subList(Math.min(i, positionals.size()), positionals.size());
    }
}
