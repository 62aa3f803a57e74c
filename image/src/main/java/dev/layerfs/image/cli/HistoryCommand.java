package dev.layerfs.image.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.layerfs.image.history.HistoryRow;
import dev.layerfs.image.history.HumanTime;
import dev.layerfs.image.history.ImageHistory;
import dev.layerfs.image.history.Table;
import dev.layerfs.image.importer.Sizes;
import dev.layerfs.image.store.ImageIndex;
import dev.layerfs.image.store.ImageStoreException;
import dev.layerfs.image.store.Json;
import dev.layerfs.image.store.LayerStore;
import java.time.Instant;
import java.util.List;

final class HistoryCommand implements Subcommand {
    static final Usage USAGE = new Usage("history",
                    "Show the steps that made an image, newest first, as docker history does.")
            .flag("--no-trunc", "show full IDs and CREATED BY")
            .option("--format", "table|json", "table (default) or json")
            .positional("IMAGE", "a name, an ID or an ID prefix");

    /** docker and podman cut CREATED BY to this many characters, the last being "…" ("..." in podman 4). */
    static final int CREATED_BY_WIDTH = 45;

    @Override
    public Usage usage() {
        return USAGE;
    }

    @Override
    public int run(Args a) throws ImageStoreException {
        boolean noTrunc = a.flag("--no-trunc");
        String format = a.value("--format", "table");
        LayerStore s = StoreOption.from(a).open();
        List<HistoryRow> rows = ImageHistory.rows(s, new ImageIndex(s).resolve(a.positional(0)));
        if (format.equals("json")) {
            ArrayNode json = Json.array();
            for (HistoryRow r : rows) {
                ObjectNode o = json.addObject();
                o.put("id", r.id());
                o.put("created", r.created().map(Instant::toString).orElse(null));
                o.put("createdBy", r.createdBy());
                o.put("size", r.size());
                o.put("comment", r.comment());
                o.put("emptyLayer", r.emptyLayer());
            }
            System.out.println(new String(Json.pretty(json), java.nio.charset.StandardCharsets.UTF_8));
            return 0;
        }
        if (!format.equals("table")) {
            throw new ImageStoreException("unknown --format " + format + " (table or json)");
        }
        Table t = new Table("IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT");
        Instant now = Instant.now();
        for (HistoryRow r : rows) {
            String id = r.id().equals("<missing>") || noTrunc ? r.id() : r.id().substring(0, 12);
            t.add(id, HumanTime.ago(r.created(), now), createdBy(r.createdBy(), noTrunc), Sizes.human(r.size()),
                    r.comment());
        }
        t.print(System.out);
        return 0;
    }

    private static String createdBy(String s, boolean noTrunc) {
        String oneLine = s.replace('\n', ' ').replace('\t', ' ');
        if (noTrunc || oneLine.length() <= CREATED_BY_WIDTH) {
            return oneLine;
        }
        return oneLine.substring(0, CREATED_BY_WIDTH - 3) + "...";
    }
}
