package dev.layerfs.image.history;

import java.time.Instant;
import java.util.Optional;

/** One row of {@code image history}: a history entry of the config, with the layer it made (if any). */
public record HistoryRow(String id, Optional<Instant> created, String createdBy, long size, String comment,
                         boolean emptyLayer) {}
