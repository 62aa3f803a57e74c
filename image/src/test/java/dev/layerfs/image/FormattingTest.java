package dev.layerfs.image;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.layerfs.image.history.HumanTime;
import dev.layerfs.image.importer.Sizes;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Sizes and ages worded as podman words them. */
class FormattingTest {
    @Test
    void sizes() {
        assertEquals("0 B", Sizes.human(0));
        assertEquals("999 B", Sizes.human(999));
        assertEquals("1 kB", Sizes.human(1000));
        assertEquals("9.73 kB", Sizes.human(9728));
        assertEquals("67.1 MB", Sizes.human(67_110_400));
        assertEquals("2.13 MB", Sizes.human(2_129_920));
    }

    @Test
    void ages() {
        Instant now = Instant.parse("2024-06-01T12:00:00Z");
        assertEquals("Less than a second ago", HumanTime.ago(Optional.of(now), now));
        assertEquals("4 seconds ago", HumanTime.ago(Optional.of(now.minusSeconds(4)), now));
        assertEquals("About a minute ago", HumanTime.ago(Optional.of(now.minusSeconds(70)), now));
        assertEquals("11 minutes ago", HumanTime.ago(Optional.of(now.minus(Duration.ofMinutes(11))), now));
        assertEquals("3 hours ago", HumanTime.ago(Optional.of(now.minus(Duration.ofHours(3))), now));
        assertEquals("3 days ago", HumanTime.ago(Optional.of(now.minus(Duration.ofDays(3))), now));
        assertEquals("N/A", HumanTime.ago(Optional.empty(), now));
    }
}
