package dev.layerfs.image.history;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Left-aligned columns as podman prints its tables (Go's tabwriter with minimum width 12 and padding 2): each
 * column as wide as its widest cell plus 2, at least 12; the last column unpadded.
 */
public final class Table {
    private final List<String[]> rows = new ArrayList<>();

    public Table(String... header) {
        rows.add(header);
    }

    public void add(String... cells) {
        rows.add(cells);
    }

    public void print(PrintStream out) {
        int cols = rows.get(0).length;
        int[] width = new int[cols];
        for (String[] r : rows) {
            for (int i = 0; i < cols; i++) {
                width[i] = Math.max(width[i], r[i].length());
            }
        }
        for (String[] r : rows) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < cols; i++) {
                sb.append(r[i]);
                if (i < cols - 1) {
                    sb.append(" ".repeat(Math.max(12, width[i] + 2) - r[i].length()));
                }
            }
            out.println(sb.toString().stripTrailing());
        }
    }
}
