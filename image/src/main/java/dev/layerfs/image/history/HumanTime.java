package dev.layerfs.image.history;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/** "3 minutes ago", worded as docker's go-units HumanDuration words it. */
public final class HumanTime {
    private HumanTime() {}

    public static String ago(Optional<Instant> t, Instant now) {
        return t.map(i -> duration(Duration.between(i, now)) + " ago").orElse("N/A");
    }

    static String duration(Duration d) {
        long s = d.getSeconds();
        if (s < 1) {
            return "Less than a second";
        }
        if (s == 1) {
            return "1 second";
        }
        if (s < 60) {
            return s + " seconds";
        }
        long m = d.toMinutes();
        if (m == 1) {
            return "About a minute";
        }
        if (m < 60) {
            return m + " minutes";
        }
        long h = Math.round(d.toMinutes() / 60.0);
        if (h == 1) {
            return "About an hour";
        }
        if (h < 48) {
            return h + " hours";
        }
        if (h < 24 * 7 * 2) {
            return h / 24 + " days";
        }
        if (h < 24 * 30 * 2) {
            return h / 24 / 7 + " weeks";
        }
        if (h < 24 * 365 * 2) {
            return h / 24 / 30 + " months";
        }
        return h / 24 / 365 + " years";
    }
}
