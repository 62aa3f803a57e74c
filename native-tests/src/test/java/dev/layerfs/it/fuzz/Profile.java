package dev.layerfs.it.fuzz;

import java.util.Set;

/**
 * What a campaign generates: how many operations a sequence has, how often an operation runs as an unprivileged
 * user, how often renames carry flags and times are UTIME_NOW/UTIME_OMIT, and which entries of
 * {@link Allowed} apply. Part of what a seed reproduces.
 *
 * <ul>
 * <li>{@code bounded}: the profile of {@code make test} and the default one: 4 to 30 operations per sequence,
 * every entry of {@link Allowed} applied.</li>
 * <li>{@code long}: 40 to 60 operations per sequence, every entry applied: the long campaigns of issue 4.</li>
 * <li>{@code full}: as bounded, but TEMPORARY entries (open bugs) are not applied, to see whether they are fixed.</li>
 * </ul>
 */
record Profile(String name, int minOps, int maxOps, int unprivilegedPercent, int renameFlagsPercent,
        int utimeSpecialPercent, Set<Allowed> exclusions) {

    static Profile of(String name) {
        return switch (name) {
            case "bounded" -> new Profile(name, 4, 30, 15, 6, 30, Allowed.all());
            case "long" -> new Profile(name, 40, 60, 15, 6, 30, Allowed.all());
            case "full" -> new Profile(name, 4, 30, 15, 6, 30, Allowed.permanent());
            default -> throw new IllegalArgumentException("unknown fuzz profile " + name + " (bounded, long, full)");
        };
    }

    /** The layerfs mount options the profile's exclusions need (e.g. timeout=0 while the attribute cache is stale). */
    String layerfsOptions() {
        StringBuilder b = new StringBuilder();
        for (Allowed a : exclusions) {
            if (!a.layerfsOptions().isEmpty()) {
                b.append(b.length() == 0 ? "" : ",").append(a.layerfsOptions());
            }
        }
        return b.toString();
    }

    boolean allows(Op op, java.util.List<Op> before) {
        for (Allowed a : exclusions) {
            if (a.excludes(op, before)) {
                return false;
            }
        }
        return true;
    }
}
