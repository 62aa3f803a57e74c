package dev.layerfs.image.extract;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;

/**
 * Keeps a layer's extraction inside its directory. A tar name is accepted only when it is relative and has no
 * {@code ..} component, and an entry is written only where every directory above it is a real directory made by
 * this extraction: never through a symlink the archive made earlier (the "symlink then file under it" attack).
 * Extraction happens in a new private directory, so nothing else can swap a directory for a symlink meanwhile.
 */
final class PathGuard {
    private final Path root;
    /**
     * Directories already checked (or made) by this extraction: the checks of an entry's parents are done once,
     * not once per entry. Cleared by {@link #forget} whenever the extraction removes anything, since a removed
     * directory may come back as a symlink.
     */
    private final java.util.Set<Path> knownDirectories = new java.util.HashSet<>();

    PathGuard(Path root) {
        this.root = root;
    }

    /** The name's components, "." and empty ones dropped; an empty list is the layer's root. */
    static List<String> components(String name) throws UnsafeEntryException {
        if (name.startsWith("/")) {
            throw new UnsafeEntryException(name, "an absolute name");
        }
        List<String> parts = new ArrayList<>();
        for (String c : name.split("/")) {
            if (c.isEmpty() || c.equals(".")) {
                continue;
            }
            if (c.equals("..")) {
                throw new UnsafeEntryException(name, "a name with a .. component");
            }
            if (c.indexOf('\0') >= 0) {
                throw new UnsafeEntryException(name, "a name with a NUL byte");
            }
            parts.add(c);
        }
        return parts;
    }

    /**
     * The path for an entry, after making sure each directory above it is a real directory (created, as 0755
     * root, where the archive did not list it). The entry itself may not exist yet.
     */
    Path prepare(String name) throws IOException, UnsafeEntryException {
        List<String> parts = components(name);
        Path p = root;
        for (int i = 0; i < parts.size() - 1; i++) {
            p = p.resolve(parts.get(i));
            if (knownDirectories.contains(p)) {
                continue;
            }
            BasicFileAttributes a = lstat(p);
            if (a == null) {
                Files.createDirectory(p);
            } else if (a.isSymbolicLink()) {
                throw new UnsafeEntryException(name, "under the symlink " + root.relativize(p)
                        + " the archive made");
            } else if (!a.isDirectory()) {
                throw new UnsafeEntryException(name, "under " + root.relativize(p) + ", which is not a directory");
            }
            knownDirectories.add(p);
        }
        return parts.isEmpty() ? root : p.resolve(parts.get(parts.size() - 1));
    }

    /** Called before the extraction removes anything below the root. */
    void forget() {
        knownDirectories.clear();
    }

    /** The existing, non-directory entry a hard link names, checked like any other name. */
    Path linkTarget(String entry, String target) throws IOException, UnsafeEntryException {
        List<String> parts = components(target);
        if (parts.isEmpty()) {
            throw new UnsafeEntryException(entry, "a hard link to the layer's root");
        }
        Path p = root;
        for (int i = 0; i < parts.size(); i++) {
            p = p.resolve(parts.get(i));
            BasicFileAttributes a = lstat(p);
            if (a == null) {
                throw new UnsafeEntryException(entry, "a hard link to " + target + ", which is not in the layer");
            }
            if (i < parts.size() - 1 && !a.isDirectory()) {
                throw new UnsafeEntryException(entry, "a hard link through " + root.relativize(p)
                        + ", which is not a directory");
            }
            if (i == parts.size() - 1 && a.isDirectory()) {
                throw new UnsafeEntryException(entry, "a hard link to the directory " + target);
            }
        }
        return p;
    }

    static BasicFileAttributes lstat(Path p) throws IOException {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (java.nio.file.NoSuchFileException e) {
            return null;
        }
    }
}
