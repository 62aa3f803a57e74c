package dev.layerfs.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/** One overlay's directories: lower layers (topmost first), an optional upper layer and workdir, a mount point. */
public final class Layers {
    private final Path root;
    private final List<Path> lowers;
    private final Optional<Path> upper;
    private final Optional<Path> work;
    private final Path mnt;

    Layers(Path root, List<Path> lowers, Optional<Path> upper, Optional<Path> work, Path mnt) {
        this.root = root;
        this.lowers = List.copyOf(lowers);
        this.upper = upper;
        this.work = work;
        this.mnt = mnt;
    }

    /** Creates ROOT/l1..lN, ROOT/upper, ROOT/work and ROOT/mnt. */
    static Layers create(Path root, int lowerCount) {
        try {
            Files.createDirectories(root);
            List<Path> lowers = new ArrayList<>();
            for (int i = 1; i <= lowerCount; i++) {
                lowers.add(Files.createDirectory(root.resolve("l" + i)));
            }
            Path upper = Files.createDirectory(root.resolve("upper"));
            Path work = Files.createDirectory(root.resolve("work"));
            return new Layers(root, lowers, Optional.of(upper), Optional.of(work),
                    Files.createDirectory(root.resolve("mnt")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Path root() {
        return root;
    }

    /** The lower layers, topmost first. */
    public List<Path> lowers() {
        return lowers;
    }

    /** Lower layer i, 0 = the topmost. */
    public Path lower(int i) {
        return lowers.get(i);
    }

    public Path upper() {
        return upper.orElseThrow(() -> new IllegalStateException("no upper layer"));
    }

    public Path work() {
        return work.orElseThrow(() -> new IllegalStateException("no workdir"));
    }

    public Path mnt() {
        return mnt;
    }

    /** The same directories, mounted without the upper layer and workdir (a read-only stack). */
    public Layers withoutUpper() {
        return new Layers(root, lowers, Optional.empty(), Optional.empty(), mnt);
    }

    /** The same layers with other lowers (e.g. a layer with a colon in its name). */
    public Layers withLowers(List<Path> newLowers) {
        return new Layers(root, newLowers, upper, work, mnt);
    }

    /** Escapes a path for an overlay option list: backslash, colon and comma. */
    public static String escape(Path p) {
        return p.toString().replace("\\", "\\\\").replace(":", "\\:").replace(",", "\\,");
    }

    public String lowerdirOption() {
        return "lowerdir=" + lowers.stream().map(Layers::escape).collect(Collectors.joining(":"));
    }

    /** lowerdir=...[,upperdir=...,workdir=...] */
    public String options() {
        StringBuilder b = new StringBuilder(lowerdirOption());
        upper.ifPresent(u -> b.append(",upperdir=").append(escape(u)));
        work.ifPresent(w -> b.append(",workdir=").append(escape(w)));
        return b.toString();
    }

    /**
     * Identical copies of every layer ({@code cp -a}: modes, owners, times, xattrs and whiteouts kept) under a new
     * root, with a fresh empty workdir and mount point.
     */
    public Layers copyTo(Path newRoot) {
        try {
            Files.createDirectories(newRoot);
            List<Path> newLowers = new ArrayList<>();
            for (Path l : lowers) {
                Path dst = newRoot.resolve(l.getFileName());
                Sh.ok("cp", "-a", "--", l.toString(), dst.toString());
                newLowers.add(dst);
            }
            Optional<Path> newUpper = Optional.empty();
            Optional<Path> newWork = Optional.empty();
            if (upper.isPresent()) {
                Path dst = newRoot.resolve(upper.get().getFileName());
                Sh.ok("cp", "-a", "--", upper.get().toString(), dst.toString());
                newUpper = Optional.of(dst);
                newWork = Optional.of(Files.createDirectory(newRoot.resolve("work")));
            }
            return new Layers(newRoot, newLowers, newUpper, newWork, Files.createDirectory(newRoot.resolve("mnt")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String toString() {
        return options() + " " + mnt;
    }
}
