package dev.layerfs.it.fuzz;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A stack and the operations run on it: the unit the fuzzer generates, compares, shrinks and prints. Its text
 * form is the stack's lines, a line {@code --}, then one operation a line.
 */
record Seq(long seed, Stack stack, List<Op> ops) {

    String text() {
        StringBuilder b = new StringBuilder(stack.text()).append("--\n");
        for (Op op : ops) {
            b.append(op.text()).append('\n');
        }
        return b.toString();
    }

    static Seq parse(String text) {
        List<String> lines = Arrays.asList(text.split("\n"));
        int sep = -1;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).trim().equals("--")) {
                sep = i;
                break;
            }
        }
        if (sep < 0) {
            throw new IllegalArgumentException("a sequence needs a line '--' between the stack and the operations");
        }
        List<Op> ops = new ArrayList<>();
        for (String l : lines.subList(sep + 1, lines.size())) {
            if (!l.isBlank() && !l.trim().startsWith("#")) {
                ops.add(Op.parse(l));
            }
        }
        return new Seq(0, Stack.parse(lines.subList(0, sep)), List.copyOf(ops));
    }

    Seq withOps(List<Op> o) {
        return new Seq(seed, stack, List.copyOf(o));
    }

    Seq withStack(Stack s) {
        return new Seq(seed, s, ops);
    }

    long weight() {
        long w = stack.weight();
        for (Op op : ops) {
            w += 20 + (op.uid() != 0 ? 2 : 0) + op.text().length() / 8;
        }
        return w;
    }
}
