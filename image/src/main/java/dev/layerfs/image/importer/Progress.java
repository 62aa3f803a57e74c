package dev.layerfs.image.importer;

import dev.layerfs.image.store.ObservedStream;
import java.io.InputStream;
import java.io.PrintStream;

/**
 * What an import tells the user: one line per layer, as a pull does, and on a terminal a progress bar of bytes
 * and layers on stderr, redrawn at most ten times a second and erased before each line. Layers staged at the same
 * time count their bytes from their own threads, so every method that touches the counts is synchronized.
 */
public final class Progress {
    private final PrintStream out;
    private final PrintStream bar;
    private long totalBytes;
    private int totalLayers;
    private long doneBytes;
    private int doneLayers;
    private long lastDraw;

    /** {@code bar} null: no bar (output is not a terminal). */
    public Progress(PrintStream out, PrintStream bar) {
        this.out = out;
        this.bar = bar;
    }

    public static Progress forTerminal(PrintStream out, PrintStream err) {
        return new Progress(out, System.console() != null ? err : null);
    }

    synchronized void start(long bytes, int layers) {
        totalBytes = bytes;
        totalLayers = layers;
        doneBytes = 0;
        doneLayers = 0;
    }

    public synchronized void line(String s) {
        erase();
        out.println(s);
        out.flush();
        draw(true);
    }

    synchronized void layerDone() {
        doneLayers++;
    }

    synchronized void finish() {
        erase();
    }

    /** Counts bytes read from a layer file for the bar. */
    InputStream track(InputStream in) {
        if (bar == null) {
            return in;
        }
        return new ObservedStream(in) {
            @Override
            protected void observe(byte[] b, int off, int len) {
                counted(len);
            }
        };
    }

    private synchronized void counted(long len) {
        doneBytes += len;
        draw(false);
    }

    private void draw(boolean force) {
        if (bar == null || totalLayers == 0) {
            return;
        }
        long now = System.nanoTime();
        if (!force && now - lastDraw < 100_000_000L) {
            return;
        }
        lastDraw = now;
        int width = 30;
        int filled = totalBytes == 0 ? width : (int) Math.min(width, doneBytes * width / totalBytes);
        bar.print("\r[" + "=".repeat(filled) + " ".repeat(width - filled) + "] "
                + Sizes.human(doneBytes) + " / " + Sizes.human(totalBytes) + "  layer "
                + Math.min(doneLayers + 1, totalLayers) + "/" + totalLayers + "   ");
        bar.flush();
    }

    private void erase() {
        if (bar != null && totalLayers > 0) {
            bar.print("\r" + " ".repeat(72) + "\r");
            bar.flush();
        }
    }
}
