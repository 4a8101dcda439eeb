package io.pgloom.server.admin;

import io.pgloom.server.control.Pooler;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The admin console's SHOW answers, read in-process: each row as a map from PgBouncer's column
 * name to its value (String, Integer, Long or null). The metrics and /ready read the same tables
 * operators and pgbouncer_exporter see, so the figures cannot disagree, and whatever a SHOW
 * learns (paused and disabled databases, for one) reaches them without more wiring.
 *
 * <p>Threading: any thread; each call builds fresh rows from the pooler's views, which take no lock
 * the data path takes (see {@link Pooler#poolViews}): scraping never delays a client. The figures
 * are a sample: each is current, but two of them may be a moment apart.
 */
public final class ConsoleTables {
    private static final Map<String, AdminConsole.Handler> SHOW;

    static {
        Map<String, AdminConsole.Handler> m = new HashMap<>();
        ShowCommands.register(m::put);
        SHOW = Map.copyOf(m);
    }

    private ConsoleTables() {
    }

    /** The rows of {@code SHOW <what>} (e.g. "POOLS"); a command without a result set gives no rows. */
    public static List<Map<String, Object>> show(Pooler pooler, String what) {
        AdminConsole.Handler h = SHOW.get(what);
        if (h == null) {
            throw new IllegalArgumentException("no SHOW " + what);
        }
        Result r;
        try {
            r = h.run(pooler, null);
        } catch (AdminConsole.ConsoleError e) {
            throw new IllegalStateException("SHOW " + what + ": " + e.getMessage(), e);
        }
        if (!r.hasRows()) {
            return List.of();
        }
        List<Result.Column> cols = r.columns();
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Object[] values : r.rowValues()) {
            Map<String, Object> row = new LinkedHashMap<>();
            for (int i = 0; i < cols.size(); i++) {
                row.put(cols.get(i).name(), values[i]);
            }
            rows.add(Collections.unmodifiableMap(row));
        }
        return rows;
    }
}
