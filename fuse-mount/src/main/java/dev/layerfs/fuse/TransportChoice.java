package dev.layerfs.fuse;

import java.util.List;
import java.util.Optional;

/**
 * Which transport serves a mount: {@code -o transport=} beats the environment variable {@code LAYERFS_TRANSPORT},
 * which beats the default, {@code kernel}. An unknown name, from either, is a usage error.
 */
final class TransportChoice {
    static final String KERNEL = "kernel";
    static final String LIBFUSE2 = "libfuse2";
    static final String DEFAULT = KERNEL;
    static final List<String> NAMES = List.of(KERNEL, LIBFUSE2);
    static final String ENVIRONMENT = "LAYERFS_TRANSPORT";

    private TransportChoice() {}

    /** A name given as {@code where} ("option transport", "LAYERFS_TRANSPORT"), checked. */
    static String checked(String name, String where) throws UsageException {
        if (!NAMES.contains(name)) {
            throw new UsageException(where + "=" + name + " is not a transport: expected "
                    + String.join(" or ", NAMES));
        }
        return name;
    }

    /**
     * @param option what {@code -o transport=} said (already checked), if anything
     * @param environment the value of {@code LAYERFS_TRANSPORT}, or null; empty counts as unset
     */
    static String decide(Optional<String> option, String environment) throws UsageException {
        if (option.isPresent()) {
            return option.get();
        }
        if (environment != null && !environment.isEmpty()) {
            return checked(environment, ENVIRONMENT);
        }
        return DEFAULT;
    }
}
