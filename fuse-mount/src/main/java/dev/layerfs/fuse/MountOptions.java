package dev.layerfs.fuse;

import dev.layerfs.core.model.ConfigException;
import dev.layerfs.core.model.IdMap;
import dev.layerfs.core.model.IdMapping;
import dev.layerfs.core.model.KernelFeatures;
import dev.layerfs.fuse.kernel.PassthroughMode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.Set;

/**
 * The {@code -o} options, as fuse-overlayfs takes them: comma-separated, empty entries allowed, {@code \,} and
 * {@code \:} escape a comma or colon inside a path, unknown options are collected for a warning and otherwise
 * ignored. Generic mount options a mount helper passes ({@code rw}, {@code exec}, {@code noatime}, ...) are
 * accepted silently; {@code suid}, {@code nosuid}, {@code dev} and {@code nodev} are kept for the mount.
 */
final class MountOptions {
    /** Options mount(8) and mount helpers pass that mean nothing more to layerfs. */
    private static final Set<String> GENERIC = Set.of("rw", "exec", "noexec",
            "atime", "noatime", "relatime", "strictatime", "nodiratime", "diratime", "auto", "noauto", "user",
            "nouser", "users", "async", "_netdev", "nofail", "defaults", "lazytime", "nolazytime");

    List<Path> lowerDirs = new ArrayList<>();
    Optional<Path> upperDir = Optional.empty();
    Optional<Path> workDir = Optional.empty();
    boolean readOnly;
    boolean fsync = true;
    boolean ephemeral;
    boolean allowOther;
    boolean allowRoot;
    boolean defaultPermissions;
    /**
     * Whether set-user-ID bits and device files work through the mount. Unset: yes when mounted by root, as
     * fuse-overlayfs does (libfuse's default, nosuid and nodev, would break su, sudo, ping and /dev in
     * containers); a mount by another user cannot have them.
     */
    Optional<Boolean> suid = Optional.empty();
    Optional<Boolean> dev = Optional.empty();
    /**
     * How long the kernel may cache names and attributes, as {@code -o timeout=} gave it; each transport has its
     * own default where it is not given ({@link #timeoutSeconds}).
     */
    OptionalDouble timeout = OptionalDouble.empty();
    /**
     * Threads serving requests. The kernel hands each request to the reader that has waited longest, so every
     * extra idle thread makes a sequential workload hop between threads: one per core measured best here.
     */
    int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
    Optional<String> fsName = Optional.empty();
    IdMap uidMapping = IdMap.IDENTITY;
    IdMap gidMapping = IdMap.IDENTITY;
    boolean squashToRoot;
    OptionalInt squashToUid = OptionalInt.empty();
    OptionalInt squashToGid = OptionalInt.empty();
    final List<String> unknown = new ArrayList<>();
    /** The kernel overlay's feature options as given ({@code redirect_dir}, {@code metacopy}, ...), last wins. */
    final Map<String, String> kernelFeatureOptions = new LinkedHashMap<>();
    KernelFeatures features = KernelFeatures.DEFAULT;

    /** Resolves the kernel feature options by the kernel's rules; a refusal is one line. */
    void resolveFeatures() throws UsageException {
        try {
            features = KernelFeatures.resolve(kernelFeatureOptions);
        } catch (ConfigException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** The transport {@code -o transport=} asks for, if any ({@link TransportChoice} decides). */
    Optional<String> transport = Optional.empty();

    /**
     * Which files the kernel transport hands to the kernel to read and write itself ({@link PassthroughMode});
     * {@code upper} by default, which keeps the kernel overlay's view of a file opened before its copy-up.
     */
    PassthroughMode passthrough = PassthroughMode.UPPER;

    /**
     * The owners shown and stored, as fuse-overlayfs combines these options: {@code squash_to_uid} and
     * {@code squash_to_gid} win over {@code squash_to_root}, whatever their order.
     */
    IdMapping idMapping() {
        OptionalInt root = squashToRoot ? OptionalInt.of(0) : OptionalInt.empty();
        return IdMapping.of(uidMapping, gidMapping).withSquash(squashToUid.isPresent() ? squashToUid : root,
                squashToGid.isPresent() ? squashToGid : root);
    }

    /** The cache timeout in seconds: {@code -o timeout=} where given, else the transport's default. */
    double timeoutSeconds(double transportDefault) {
        return timeout.orElse(transportDefault);
    }

    /** Adds the options of one {@code -o} argument. */
    void parse(String optionList) throws UsageException {
        for (String option : split(optionList, ',')) {
            if (!option.isEmpty()) {
                apply(option);
            }
        }
    }

    private void apply(String option) throws UsageException {
        int eq = option.indexOf('=');
        String key = eq < 0 ? option : option.substring(0, eq);
        String value = eq < 0 ? null : option.substring(eq + 1);
        switch (key) {
            case "lowerdir" -> {
                lowerDirs = new ArrayList<>();
                for (String dir : split(require(key, value), ':')) {
                    if (dir.isEmpty()) {
                        throw new UsageException("malformed option lowerdir=" + value + ": an empty layer path");
                    }
                    lowerDirs.add(Path.of(dir));
                }
            }
            case "upperdir" -> upperDir = Optional.of(Path.of(unescape(require(key, value))));
            case "workdir" -> workDir = Optional.of(Path.of(unescape(require(key, value))));
            case "ro" -> readOnly = true;
            case "volatile" -> fsync = false;
            case "fsync" -> fsync = parseBoolean(key, value);
            case "ephemeral" -> ephemeral = true;
            case "allow_other" -> allowOther = true;
            case "allow_root" -> allowRoot = true;
            case "default_permissions" -> defaultPermissions = true;
            case "fsname" -> fsName = Optional.of(require(key, value));
            case "timeout" -> timeout = OptionalDouble.of(parseSeconds(key, value));
            case "threads" -> threads = parseCount(key, value);
            case "uidmapping" -> uidMapping = parseMapping(key, value);
            case "gidmapping" -> gidMapping = parseMapping(key, value);
            case "suid" -> suid = Optional.of(true);
            case "nosuid" -> suid = Optional.of(false);
            case "dev" -> dev = Optional.of(true);
            case "nodev" -> dev = Optional.of(false);
            case "squash_to_root" -> squashToRoot = true;
            case "squash_to_uid" -> squashToUid = OptionalInt.of(parseId(key, value));
            case "squash_to_gid" -> squashToGid = OptionalInt.of(parseId(key, value));
            case "redirect_dir", "metacopy", "index", "xino", "nfs_export" ->
                    kernelFeatureOptions.put(key, require(key, value));
            case "passthrough" -> {
                passthrough = PassthroughMode.of(require(key, value));
                if (passthrough == null) {
                    throw new UsageException("malformed option passthrough=" + value + ": expected upper, all or off");
                }
            }
            case "transport" ->
                transport = Optional.of(TransportChoice.checked(require(key, value), "option transport"));
            default -> {
                if (!GENERIC.contains(key)) {
                    unknown.add(option);
                }
            }
        }
    }

    private static String unescape(String s) {
        return s.replace("\\:", ":").replace("\\,", ",").replace("\\\\", "\\");
    }

    private static String require(String key, String value) throws UsageException {
        if (value == null || value.isEmpty()) {
            throw new UsageException("malformed option " + key + ": it needs a value (" + key + "=...)");
        }
        return value;
    }

    private static boolean parseBoolean(String key, String value) throws UsageException {
        if ("1".equals(value) || "true".equals(value)) {
            return true;
        }
        if ("0".equals(value) || "false".equals(value)) {
            return false;
        }
        throw new UsageException("malformed option " + key + "=" + value + ": expected 0 or 1");
    }

    private static double parseSeconds(String key, String value) throws UsageException {
        try {
            double d = Double.parseDouble(require(key, value));
            if (d < 0 || Double.isNaN(d) || Double.isInfinite(d)) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw new UsageException("malformed option " + key + "=" + value + ": expected a number of seconds");
        }
    }

    private static int parseCount(String key, String value) throws UsageException {
        try {
            int n = Integer.parseInt(require(key, value));
            if (n < 1 || n > 256) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new UsageException("malformed option " + key + "=" + value + ": expected a number from 1 to 256");
        }
    }

    private static IdMap parseMapping(String key, String value) throws UsageException {
        try {
            return IdMap.parse(key, require(key, value));
        } catch (ConfigException e) {
            throw new UsageException(e.getMessage());
        }
    }

    private static int parseId(String key, String value) throws UsageException {
        String v = require(key, value);
        try {
            if (!v.chars().allMatch(c -> c >= '0' && c <= '9')) {
                throw new NumberFormatException();
            }
            long id = Long.parseLong(v);
            if (id > 0xFFFF_FFFEL) {
                throw new NumberFormatException();
            }
            return (int) id;
        } catch (NumberFormatException e) {
            throw new UsageException("malformed option " + key + "=" + value + ": expected a user or group id");
        }
    }

    /** Splits on a separator not preceded by a backslash; escapes are resolved in the parts. */
    static List<String> split(String s, char separator) {
        List<String> parts = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                cur.append(c).append(s.charAt(++i));
            } else if (c == separator) {
                parts.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        parts.add(cur.toString());
        if (separator == ':') {
            parts.replaceAll(MountOptions::unescape);
        }
        return parts;
    }
}
