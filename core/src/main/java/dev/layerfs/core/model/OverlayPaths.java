package dev.layerfs.core.model;

import dev.layerfs.core.bytes.ByteString;
import dev.layerfs.core.error.Errno;
import dev.layerfs.core.error.FsException;

/**
 * Merged-view paths. The engine keeps them relative and normalised: "" is the root, "a/b" a descendant.
 * FUSE's absolute paths ("/a/b") are accepted too; "." and ".." components are refused, never resolved.
 */
public final class OverlayPaths {
    private OverlayPaths() {}

    public static String normalize(String path) throws FsException {
        int start = 0;
        int end = path.length();
        while (start < end && path.charAt(start) == '/') {
            start++;
        }
        while (end > start && path.charAt(end - 1) == '/') {
            end--;
        }
        if (start == end) {
            return "";
        }
        // One pass over the path (every request's path comes through here): each component is non-empty, neither
        // "." nor "..", and no byte is NUL.
        int component = start;
        for (int i = start; i <= end; i++) {
            char c = i < end ? path.charAt(i) : '/';
            if (c == '/') {
                int length = i - component;
                if (length == 0 || path.charAt(component) == '.'
                        && (length == 1 || length == 2 && path.charAt(component + 1) == '.')) {
                    throw FsException.of(Errno.EINVAL, "resolve", path);
                }
                component = i + 1;
            } else if (c == '\0') {
                throw FsException.of(Errno.EINVAL, "resolve", path);
            }
        }
        return path.substring(start, end);
    }

    /** A merged path as messages show it: absolute, and escaped where its bytes are not UTF-8. */
    public static String show(String path) {
        return "/" + ByteString.display(path);
    }

    public static String parent(String path) {
        int slash = path.lastIndexOf('/');
        return slash < 0 ? "" : path.substring(0, slash);
    }

    public static String name(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }

    public static String child(String parent, String name) {
        return parent.isEmpty() ? name : parent + "/" + name;
    }

    /** True where {@code path} is {@code ancestor} or lies below it. */
    public static boolean isSameOrBelow(String path, String ancestor) {
        return ancestor.isEmpty() || path.equals(ancestor) || path.startsWith(ancestor + "/");
    }
}
