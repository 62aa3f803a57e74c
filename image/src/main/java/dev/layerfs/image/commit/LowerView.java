package dev.layerfs.image.commit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;

/**
 * The merged view of read-only layers (topmost first), asked one question: does a path exist in it? A whiteout
 * (character device 0/0) hides the name below; an opaque directory hides what the layers below have inside it.
 */
public final class LowerView {
    private final List<Path> layers;

    public LowerView(List<Path> topFirst) {
        this.layers = topFirst;
    }

    public boolean exists(String rel) throws IOException {
        String[] parts = rel.split("/");
        for (Path layer : layers) {
            Path p = layer;
            boolean opaqueAbove = false;
            boolean found = true;
            for (int i = 0; i < parts.length; i++) {
                p = p.resolve(parts[i]);
                if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                    found = false;
                    break;
                }
                if (UpperLayer.isWhiteoutDevice(p)) {
                    return false;
                }
                if (i < parts.length - 1 && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) && UpperLayer.isOpaque(p)) {
                    opaqueAbove = true;
                }
            }
            if (found) {
                return true;
            }
            if (opaqueAbove) {
                return false;
            }
        }
        return false;
    }
}
