package dev.layerfs.core.model;

import java.util.ArrayList;
import java.util.List;

/**
 * One id mapping (user ids or group ids) between what is stored in the layers and what is shown through the
 * overlay, in fuse-overlayfs's {@code uidmapping=}/{@code gidmapping=} form: {@code ID:SHOWN:LEN[:ID:SHOWN:LEN...]}
 * maps the stored ids {@code ID..ID+LEN-1} to {@code SHOWN..SHOWN+LEN-1}. Container tools write
 * {@code :0:100000:65536}: empty fields (a leading colon) are skipped, as fuse-overlayfs's strtok does.
 *
 * <p>Outward (stat), a stored id inside a range is shifted; a stored id outside every stored range but inside a
 * shown range is shown unchanged, because it is already a shown id (podman 4.3 with {@code --uidmap} hands over
 * lower layers through idmapped mounts that have shifted them already, and passes the mapping as well); any other
 * id shows as the overflow id. Inward (the owner of a new object, chown), a shown id inside a range is shifted
 * back and any other id is stored as the overflow id. The first range that matches wins.
 */
public final class IdMap {
    /** The kernel's default overflow id ({@code /proc/sys/kernel/overflowuid}), fuse-overlayfs's too. */
    public static final int OVERFLOW_ID = 65534;

    /** No mapping: ids pass through unchanged both ways. */
    public static final IdMap IDENTITY = new IdMap(List.of());

    private static final long MAX_ID = 0xFFFF_FFFFL;

    /** One range: stored ids {@code stored..stored+length-1} are shown as {@code shown..shown+length-1}. */
    public record Range(long stored, long shown, long length) {
        boolean storedHas(long id) {
            return id >= stored && id < stored + length;
        }

        boolean shownHas(long id) {
            return id >= shown && id < shown + length;
        }

        int toShown(int storedId) {
            return (int) (shown + (Integer.toUnsignedLong(storedId) - stored));
        }

        int toStored(int shownId) {
            return (int) (stored + (Integer.toUnsignedLong(shownId) - shown));
        }
    }

    private final List<Range> ranges;

    private IdMap(List<Range> ranges) {
        this.ranges = List.copyOf(ranges);
    }

    public static IdMap of(List<Range> ranges) {
        return ranges.isEmpty() ? IDENTITY : new IdMap(ranges);
    }

    /**
     * Parses {@code ID:SHOWN:LEN[:ID:SHOWN:LEN...]}; {@code option} names the option in the one-line error.
     */
    public static IdMap parse(String option, String spec) throws ConfigException {
        List<Long> numbers = new ArrayList<>();
        for (String field : spec.split(":", -1)) {
            if (field.isEmpty()) {
                continue;
            }
            numbers.add(number(option, spec, field));
        }
        if (numbers.isEmpty() || numbers.size() % 3 != 0) {
            throw new ConfigException("malformed option " + option + "=" + spec
                    + ": expected ID:SHOWN-ID:LENGTH[:ID:SHOWN-ID:LENGTH...]");
        }
        List<Range> ranges = new ArrayList<>();
        for (int i = 0; i < numbers.size(); i += 3) {
            Range r = new Range(numbers.get(i), numbers.get(i + 1), numbers.get(i + 2));
            if (r.length() == 0) {
                throw new ConfigException("malformed option " + option + "=" + spec + ": a range of length 0");
            }
            if (r.stored() + r.length() - 1 > MAX_ID || r.shown() + r.length() - 1 > MAX_ID) {
                throw new ConfigException("malformed option " + option + "=" + spec
                        + ": a range goes past the largest id, " + MAX_ID);
            }
            ranges.add(r);
        }
        return new IdMap(ranges);
    }

    private static long number(String option, String spec, String field) throws ConfigException {
        try {
            if (!field.chars().allMatch(c -> c >= '0' && c <= '9') || field.length() > 10) {
                throw new NumberFormatException();
            }
            long n = Long.parseLong(field);
            if (n > MAX_ID) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new ConfigException("malformed option " + option + "=" + spec + ": '" + field
                    + "' is not an id (a number from 0 to " + MAX_ID + ")");
        }
    }

    public boolean isIdentity() {
        return ranges.isEmpty();
    }

    public List<Range> ranges() {
        return ranges;
    }

    /** The id shown through the overlay for an id stored in a layer. */
    public int shown(int storedId) {
        if (ranges.isEmpty()) {
            return storedId;
        }
        Range storing = storing(storedId);
        if (storing != null) {
            return storing.toShown(storedId);
        }
        return ranges.isEmpty() || showing(storedId) != null ? storedId : OVERFLOW_ID;
    }

    /**
     * The form to keep an id of a lower layer in when it is copied up: unchanged, unless no range stores it but one
     * shows it, as in a layer already shifted by an idmapped mount (podman's {@code --uidmap}); such an id is
     * stored as the id it stands for, the form every new file of the upper layer gets.
     */
    public int canonical(int storedId) {
        Range showing = storing(storedId) == null ? showing(storedId) : null;
        return showing == null ? storedId : showing.toStored(storedId);
    }

    /** The id stored in a layer for an id given through the overlay (a caller's, or chown's). */
    public int stored(int shownId) {
        if (ranges.isEmpty()) {
            return shownId;
        }
        Range showing = showing(shownId);
        return showing == null ? OVERFLOW_ID : showing.toStored(shownId);
    }

    /** The range whose stored side holds this id, or null. */
    private Range storing(int id) {
        long u = Integer.toUnsignedLong(id);
        // Indexed, not with an iterator: asked twice for every attributes shown.
        for (int i = 0; i < ranges.size(); i++) {
            Range r = ranges.get(i);
            if (r.storedHas(u)) {
                return r;
            }
        }
        return null;
    }

    /** The range whose shown side holds this id, or null. */
    private Range showing(int id) {
        long u = Integer.toUnsignedLong(id);
        for (int i = 0; i < ranges.size(); i++) {
            Range r = ranges.get(i);
            if (r.shownHas(u)) {
                return r;
            }
        }
        return null;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (Range r : ranges) {
            sb.append(sb.length() == 0 ? "" : ":").append(r.stored()).append(':').append(r.shown()).append(':')
                    .append(r.length());
        }
        return sb.length() == 0 ? "identity" : sb.toString();
    }
}
