package dev.layerfs.image.history;

import com.fasterxml.jackson.databind.JsonNode;
import dev.layerfs.image.store.Digest;
import dev.layerfs.image.store.Image;
import dev.layerfs.image.store.ImageStoreException;
import dev.layerfs.image.store.LayerInfo;
import dev.layerfs.image.store.LayerStore;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The rows {@code docker history} and {@code podman history} show: the config's history entries, newest first,
 * each entry without {@code empty_layer} paired with the next layer (base first), size 0 for the others. The
 * newest row carries the image ID; the others {@code <missing>}, as docker shows for layers that are no image of
 * their own. Layers beyond the history entries (an image with no history) get rows of their own.
 */
public final class ImageHistory {
    private ImageHistory() {}

    public static List<HistoryRow> rows(LayerStore store, Image image) throws ImageStoreException {
        List<Digest> layers = image.diffIds();
        List<HistoryRow> rows = new ArrayList<>();
        int layer = 0;
        for (JsonNode h : image.history()) {
            boolean empty = h.path("empty_layer").asBoolean(false);
            long size = 0;
            if (!empty && layer < layers.size()) {
                size = LayerInfo.read(store, layers.get(layer)).size();
                layer++;
            }
            rows.add(new HistoryRow("<missing>", Image.parseTime(h.path("created").asText(null)),
                    h.path("created_by").asText(""), size, h.path("comment").asText(""), empty));
        }
        for (; layer < layers.size(); layer++) {
            rows.add(new HistoryRow("<missing>", image.created(), "", LayerInfo.read(store, layers.get(layer)).size(),
                    "", false));
        }
        Collections.reverse(rows);
        if (!rows.isEmpty()) {
            HistoryRow top = rows.get(0);
            rows.set(0, new HistoryRow(image.id().hex(), top.created(), top.createdBy(), top.size(), top.comment(),
                    top.emptyLayer()));
        }
        return rows;
    }
}
