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

    StoreOption store;

    String image;

    boolean noTrunc;

    String format;

    @Override
    public Usage usage() {
        return USAGE;
    }

    @Override
    public int run(Args a) throws Exception {
        store = StoreOption.from(a);
        image = a.positional(0);
        noTrunc = a.flag("--no-trunc");
        format = a.value("--format", "table");
        return call();
    }

    private int call() throws ImageStoreException {
        LayerStore s = store.open();
        List<HistoryRow> rows = ImageHistory.rows(s, new ImageIndex(s).resolve(image));
        if (format.equals("json")) {
            ArrayNode a = Json.array();
            for (HistoryRow r : rows) {
                ObjectNode o = a.addObject();
                o.put("id", r.id());
                o.put("created", r.created().map(Instant::toString).orElse(null));
                o.put("createdBy", r.createdBy());
                o.put("size", r.size());
                o.put("comment", r.comment());
                o.put("emptyLayer", r.emptyLayer());
            }
            System.out.println(new String(Json.pretty(a), java.nio.charset.StandardCharsets.UTF_8));
            return 0;
        }
        if (!format.equals("table")) {
            throw new ImageStoreException("unknown --format " + format + " (table or json)");
        }
        Table t = new Table("IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT");
        Instant now = Instant.now();
        for (HistoryRow r : rows) {
            String id = r.id().equals("<missing>") || noTrunc ? r.id() : r.id().substring(0, 12);
            t.add(id, HumanTime.ago(r.created(), now), createdBy(r.createdBy()), Sizes.human(r.size()),
                    r.comment());
        }
        t.print(System.out);
        return 0;
    }

    private String createdBy(String s) {
        String oneLine = s.replace('\n', ' ').replace('\t', ' ');
        if (noTrunc || oneLine.length() <= CREATED_BY_WIDTH) {
            return oneLine;
        }
        return oneLine.substring(0, CREATED_BY_WIDTH - 3) + "...";
    }
}
