package dev.layerfs.core.testing;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.opentest4j.AssertionFailedError;

/**
 * Fails a test that changed any lower layer. A lower layer is snapshotted ({@link TreeSnapshot}: names, types,
 * mode, owner, size, content, mtime, symbolic link targets, rdev and every xattr, trusted.* included) when the
 * test starts watching it, which {@link OverlayFixture} does as it opens an overlay (so the layers are built by
 * then), and again after the test, once the fixtures it registered are closed.
 *
 * <pre>
 *   &#64;ExtendWith(LowerLayersUnchanged.class)
 *   class MyTest { ... }
 * </pre>
 *
 * {@link OverlayFixture} refuses to open an overlay in a test that does not use this extension. Other code
 * (a FUSE mount, say) can call {@link #watch(Path...)} itself.
 */
public final class LowerLayersUnchanged implements BeforeEachCallback, AfterEachCallback {
    private static final ThreadLocal<Watch> CURRENT = new ThreadLocal<>();

    /** What one test watches. */
    private static final class Watch {
        final Map<Path, TreeSnapshot> before = new LinkedHashMap<>();
        final List<AutoCloseable> toClose = new ArrayList<>();
    }

    /** True inside a test run with this extension. */
    public static boolean active() {
        return CURRENT.get() != null;
    }

    /**
     * Snapshots these lower layers now (once per layer and test) so that the test fails if they change.
     *
     * @throws IllegalStateException outside a test that uses this extension
     */
    public static void watch(Path... lowers) {
        Watch w = current();
        for (Path p : lowers) {
            Path key = p.toAbsolutePath().normalize();
            if (!w.before.containsKey(key)) {
                w.before.put(key, TreeSnapshot.of(key));
            }
        }
    }

    /** Closes this at the end of the test, before the layers are compared. */
    public static void closeAfterTest(AutoCloseable c) {
        current().toClose.add(c);
    }

    private static Watch current() {
        Watch w = CURRENT.get();
        if (w == null) {
            throw new IllegalStateException("lower layers are only watched in a test class annotated "
                    + "@ExtendWith(LowerLayersUnchanged.class)");
        }
        return w;
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        CURRENT.set(new Watch());
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        Watch w = CURRENT.get();
        CURRENT.remove();
        if (w == null) {
            return;
        }
        Exception closing = null;
        for (int i = w.toClose.size() - 1; i >= 0; i--) {
            try {
                w.toClose.get(i).close();
            } catch (Exception e) {
                closing = e;
            }
        }
        List<String> changes = new ArrayList<>();
        for (Map.Entry<Path, TreeSnapshot> e : w.before.entrySet()) {
            for (String change : e.getValue().diff(TreeSnapshot.of(e.getKey()))) {
                changes.add(e.getKey() + ": " + change);
            }
        }
        if (!changes.isEmpty()) {
            throw new AssertionFailedError("a lower layer changed during " + context.getDisplayName() + ":\n  "
                    + String.join("\n  ", changes));
        }
        if (closing != null) {
            throw closing;
        }
    }
}
