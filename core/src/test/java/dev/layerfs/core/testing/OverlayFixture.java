package dev.layerfs.core.testing;

import dev.layerfs.core.Overlay;
import dev.layerfs.core.model.ConfigException;
import dev.layerfs.core.model.OverlayConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One overlay's real directories under a base directory (a JUnit {@code @TempDir}): lower layers {@code l1}
 * (topmost) to {@code lN}, {@code upper} and {@code work}; and the overlays opened on them, closed by
 * {@link #close()} (and at the latest by {@link LowerLayersUnchanged} after the test).
 *
 * <pre>
 *   OverlayFixture fx = OverlayFixture.create(tmp, 2);
 *   fx.l1().file("a", "top");
 *   fx.l2().file("a", "bottom");
 *   Overlay ov = fx.open();
 * </pre>
 *
 * Opening snapshots the lower layers for {@link LowerLayersUnchanged}, which the test class must use.
 */
public final class OverlayFixture implements AutoCloseable {
    private final Path base;
    private final List<LayerTree> lowers;
    private final LayerTree upper;
    private final Path work;
    private final List<Overlay> opened = new ArrayList<>();
    private boolean registered;

    private OverlayFixture(Path base, List<LayerTree> lowers, LayerTree upper, Path work) {
        this.base = base;
        this.lowers = List.copyOf(lowers);
        this.upper = upper;
        this.work = work;
    }

    /** Creates BASE/l1..lN, BASE/upper and BASE/work. */
    public static OverlayFixture create(Path base, int lowerCount) {
        if (lowerCount < 1) {
            throw new IllegalArgumentException("at least one lower layer");
        }
        List<LayerTree> lowers = new ArrayList<>();
        for (int i = 1; i <= lowerCount; i++) {
            lowers.add(new LayerTree(base.resolve("l" + i)));
        }
        LayerTree upper = new LayerTree(base.resolve("upper"));
        Path work = new LayerTree(base.resolve("work")).root();
        return new OverlayFixture(base, lowers, upper, work);
    }

    /** Two lower layers. */
    public static OverlayFixture create(Path base) {
        return create(base, 2);
    }

    public Path base() {
        return base;
    }

    /** Lower layer i, 0 being the topmost. */
    public LayerTree lower(int i) {
        return lowers.get(i);
    }

    public LayerTree l1() {
        return lowers.get(0);
    }

    public LayerTree l2() {
        return lowers.get(1);
    }

    public LayerTree l3() {
        return lowers.get(2);
    }

    public List<LayerTree> lowers() {
        return lowers;
    }

    public List<Path> lowerPaths() {
        return lowers.stream().map(LayerTree::root).toList();
    }

    public LayerTree upper() {
        return upper;
    }

    /** The workdir given to the overlay. */
    public Path workDir() {
        return work;
    }

    /** {@code WORKDIR/work}, the overlay's scratch directory. */
    public LayerTree scratch() {
        return new LayerTree(work.resolve("work"));
    }

    public OverlayConfig writableConfig() {
        return OverlayConfig.writable(lowerPaths(), upper.root(), work);
    }

    public OverlayConfig readOnlyConfig() {
        return OverlayConfig.readOnly(lowerPaths());
    }

    /** Opens a writable overlay (upper + work). */
    public Overlay open() {
        return open(writableConfig());
    }

    /** Opens a read-only overlay of the lower layers. */
    public Overlay openReadOnly() {
        return open(readOnlyConfig());
    }

    /** Opens an overlay; the lower layers are snapshotted first (they must be complete by now). */
    public Overlay open(OverlayConfig config) {
        lowers.forEach(LayerTree::settle);
        upper.settle();
        LowerLayersUnchanged.watch(config.lowerDirs().toArray(Path[]::new));
        if (!registered) {
            LowerLayersUnchanged.closeAfterTest(this);
            registered = true;
        }
        try {
            Overlay ov = Overlay.open(config);
            opened.add(ov);
            return ov;
        } catch (ConfigException e) {
            throw new IllegalStateException("cannot open the overlay: " + e.getMessage(), e);
        }
    }

    /** Closes every overlay opened here (idempotent). */
    @Override
    public void close() {
        for (Overlay ov : opened) {
            ov.close();
        }
        opened.clear();
    }
}
