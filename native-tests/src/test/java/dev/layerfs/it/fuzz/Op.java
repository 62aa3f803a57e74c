package dev.layerfs.it.fuzz;

import java.util.Arrays;
import java.util.List;

/**
 * One operation of a sequence, as text: {@code [as UID] NAME ARG...}. {@link Exec} gives the names their meaning;
 * paths are relative to the sequence's directory, in the text form of {@link ByteNames} (so never with a space).
 */
record Op(int uid, String name, List<String> args) {
    Op(int uid, String name, String... args) {
        this(uid, name, List.of(args));
    }

    String arg(int i) {
        return args.get(i);
    }

    String text() {
        StringBuilder b = new StringBuilder();
        if (uid != 0) {
            b.append("as ").append(uid).append(' ');
        }
        b.append(name);
        for (String a : args) {
            b.append(' ').append(a);
        }
        return b.toString();
    }

    static Op parse(String line) {
        String[] f = line.trim().split(" +");
        int uid = 0;
        int i = 0;
        if (f[0].equals("as")) {
            uid = Integer.parseInt(f[1]);
            i = 2;
        }
        return new Op(uid, f[i], List.copyOf(Arrays.asList(f).subList(i + 1, f.length)));
    }

    @Override
    public String toString() {
        return text();
    }
}
