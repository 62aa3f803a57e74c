package dev.layerfs.image.history;

import com.fasterxml.jackson.databind.JsonNode;
import dev.layerfs.image.store.Image;
import java.util.ArrayList;
import java.util.List;

/** The created_by of each layer of an image (base first): the history entries that made a layer, in order. */
public final class LayerSteps {
    private LayerSteps() {}

    public static List<String> createdBy(Image image, int layers) {
        List<String> steps = new ArrayList<>();
        for (JsonNode h : image.history()) {
            if (!h.path("empty_layer").asBoolean(false)) {
                steps.add(h.path("created_by").asText(""));
            }
        }
        while (steps.size() < layers) {
            steps.add("");
        }
        return steps;
    }
}
