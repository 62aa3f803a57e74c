package dev.layerfs.core.model;

import java.util.Locale;
import java.util.Map;

/**
 * The kernel overlay's optional features, with the kernel's option names, values and dependency rules
 * (Documentation/filesystems/overlayfs.rst, fs/overlayfs/params.c).
 *
 * <p>{@code redirect_dir}: {@code on} renames merged and lower directories by writing {@code overlay.redirect}
 * and follows redirects; {@code follow} follows them but makes none (a rename of such a directory is EXDEV);
 * {@code nofollow} makes none and refuses (EPERM) a lookup that would follow one; {@code off} makes none and
 * follows them as kernels built with {@code redirect_always_follow} do (the default configuration, and this
 * project's test machines').
 *
 * <p>{@code metacopy=on}: chmod, chown, utimens, xattr changes, renames and hard links of a lower regular file copy
 * up its metadata only ({@code overlay.metacopy}, with a redirect to its data where it moves); its data follows
 * at the first open for writing or truncate. Only read where metacopy=on: a layer holding metadata-only copies
 * must be mounted with it, as the kernel demands.
 *
 * <p>{@code index=on}: the first copy-up of a lower hard link goes through the inodes index
 * ({@code WORKDIR/index/<origin>}) and its other names are linked to it, so every name stays one inode with the
 * overlay's link count ({@code overlay.nlink}); ignored without an upper layer, as by the kernel. {@code xino} is
 * accepted with every value: layerfs always composes inode numbers as xino does where the layers span
 * filesystems (a FUSE file system has one st_dev, so the kernel's xino=off numbers cannot be shown).
 *
 * @param redirectDir the redirect_dir mode
 * @param metacopy metadata-only copy-up
 * @param index the inodes index
 * @param xinoOn xino=on was asked for (it changes nothing else in layerfs, see above, but, as in the kernel, it
 *     is one of the features that make new directories in merged ones opaque)
 */
public record KernelFeatures(RedirectDir redirectDir, boolean metacopy, boolean index, boolean xinoOn) {
    /** redirect_dir's modes, "off" resolved to the mode it stands for. */
    public enum RedirectDir {
        ON, FOLLOW, NOFOLLOW;

        /** Whether renames of merged and lower directories write redirects. */
        public boolean creates() {
            return this == ON;
        }

        /** Whether lookups follow redirects (else a followed redirect is EPERM). */
        public boolean follows() {
            return this != NOFOLLOW;
        }
    }

    /** layerfs's defaults: redirect_dir=off (followed, never written), metacopy=off, index=off. */
    public static final KernelFeatures DEFAULT = new KernelFeatures(RedirectDir.FOLLOW, false, false, false);

    /**
     * Whether a directory made in a merged directory is marked opaque, as the kernel does (an optimisation that
     * forbids later offline changes to the lower layers) when any of redirect_dir=on, index, metacopy or xino=on
     * is in use (its ovl_allow_offline_changes).
     */
    public boolean newDirectoriesOpaque() {
        return redirectDir.creates() || metacopy || index || xinoOn;
    }

    /**
     * The features the options ask for ({@code redirect_dir}, {@code metacopy}, {@code index}, {@code xino},
     * {@code nfs_export}, keys as given, values as given), by the kernel's rules: {@code metacopy=on} without
     * {@code redirect_dir} turns redirect_dir on, and with an explicit redirect_dir other than on is a conflict;
     * {@code index} depends on nothing else (the kernel's only rule for it is nfs_export's, which layerfs does not
     * implement: {@code nfs_export=on} is refused, {@code off} accepted). Every refusal is one line.
     */
    public static KernelFeatures resolve(Map<String, String> options) throws ConfigException {
        String redirect = options.get("redirect_dir");
        RedirectDir mode = RedirectDir.FOLLOW;
        if (redirect != null) {
            mode = switch (redirect.toLowerCase(Locale.ROOT)) {
                case "on" -> RedirectDir.ON;
                case "follow", "off" -> RedirectDir.FOLLOW;
                case "nofollow" -> RedirectDir.NOFOLLOW;
                default -> throw new ConfigException("malformed option redirect_dir=" + redirect
                        + ": expected on, follow, nofollow or off");
            };
        }
        boolean metacopy = onOff(options, "metacopy");
        boolean index = onOff(options, "index");
        String xino = options.get("xino");
        if (xino != null && !xino.equals("on") && !xino.equals("off") && !xino.equals("auto")) {
            throw new ConfigException("malformed option xino=" + xino + ": expected on, off or auto");
        }
        if (onOff(options, "nfs_export")) {
            // The kernel's nfs_export turns index on (an explicit index=off conflicts) and conflicts with metacopy.
            throw new ConfigException("nfs_export=on is not implemented by layerfs (index=on, which it needs in the"
                    + " kernel, is)");
        }
        if (metacopy && mode != RedirectDir.ON) {
            if (redirect != null) {
                throw new ConfigException("conflicting options: metacopy=on,redirect_dir=" + redirect
                        + " (metacopy needs redirect_dir=on, as in the kernel)");
            }
            mode = RedirectDir.ON;
        }
        return new KernelFeatures(mode, metacopy, index, "on".equals(xino));
    }

    private static boolean onOff(Map<String, String> options, String key) throws ConfigException {
        String v = options.get(key);
        if (v == null || v.equals("off")) {
            return false;
        }
        if (v.equals("on")) {
            return true;
        }
        throw new ConfigException("malformed option " + key + "=" + v + ": expected on or off");
    }
}
