package dev.layerfs.core.nativeio;

/** A point in time as the kernel keeps it: seconds and nanoseconds, or one of utimensat's two special values. */
public record Timespec(long sec, long nsec) {
    /** utimensat's UTIME_NOW: set to the current time. */
    public static final Timespec NOW = new Timespec(0, Linux.UTIME_NOW);
    /** utimensat's UTIME_OMIT: leave unchanged. */
    public static final Timespec OMIT = new Timespec(0, Linux.UTIME_OMIT);

    public static Timespec ofMillis(long millis) {
        return new Timespec(Math.floorDiv(millis, 1000), Math.floorMod(millis, 1000) * 1_000_000L);
    }
}
