package io.pgloom.server.metrics;

import io.pgloom.server.admin.ConsoleTables;
import io.pgloom.server.control.Pooler;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.InfoSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * prometheus-community's pgbouncer_exporter, built in: at each scrape it reads the admin
 * console's SHOW DATABASES, STATS, POOLS, LISTS, CONFIG, SERVERS and VERSION (in-process, through
 * {@link ConsoleTables}) and maps their columns to the exporter's metric names, labels and units,
 * so dashboards and alerts written for PgBouncer work unchanged.
 *
 * <p>Threading: runs on the scraping HTTP thread; reads views, never a data-path lock.
 */
public final class PgbouncerMetrics implements MultiCollector {
    private static final Logger log = LoggerFactory.getLogger(PgbouncerMetrics.class);
    private static final double MICROS = 1e-6;

    /** One column of a SHOW command and the metric it becomes. */
    private record Column(String column, String metric, boolean counter, double scale, String help) {
    }

    private static Column gauge(String column, String metric, String help) {
        return new Column(column, metric, false, 1, help);
    }

    private static Column counter(String column, String metric, double scale, String help) {
        return new Column(column, metric, true, scale, help);
    }

    // Counter names are given without "_total": the client library appends it, as Prometheus requires.
    private static final List<Column> STATS = List.of(
            counter("total_query_count", "pgbouncer_stats_queries_pooled", 1, "Total number of SQL queries pooled"),
            counter("total_query_time", "pgbouncer_stats_queries_duration_seconds", MICROS,
                    "Total number of seconds spent by pgbouncer when actively connected to PostgreSQL, executing queries"),
            counter("total_received", "pgbouncer_stats_received_bytes", 1,
                    "Total volume in bytes of network traffic received by pgbouncer, shown as bytes"),
            counter("total_sent", "pgbouncer_stats_sent_bytes", 1,
                    "Total volume in bytes of network traffic sent by pgbouncer, shown as bytes"),
            counter("total_wait_time", "pgbouncer_stats_client_wait_seconds", MICROS,
                    "Time spent by clients waiting for a server in seconds"),
            counter("total_xact_count", "pgbouncer_stats_sql_transactions_pooled", 1, "Total number of SQL transactions pooled"),
            counter("total_xact_time", "pgbouncer_stats_server_in_transaction_seconds", MICROS,
                    "Total number of seconds spent by pgbouncer when connected to PostgreSQL in a transaction,"
                            + " either idle in transaction or executing queries"));

    private static final List<Column> POOLS = List.of(
            gauge("cl_active", "pgbouncer_pools_client_active_connections",
                    "Client connections linked to server connection and able to process queries, shown as connection"),
            gauge("cl_active_cancel_req", "pgbouncer_pools_client_active_cancel_connections",
                    "Client connections that have forwarded query cancellations to the server and are waiting for the server response"),
            gauge("cl_waiting", "pgbouncer_pools_client_waiting_connections",
                    "Client connections waiting on a server connection, shown as connection"),
            gauge("cl_waiting_cancel_req", "pgbouncer_pools_client_waiting_cancel_connections",
                    "Client connections that have not forwarded query cancellations to the server yet"),
            gauge("sv_active", "pgbouncer_pools_server_active_connections",
                    "Server connections linked to a client connection, shown as connection"),
            gauge("sv_active_cancel", "pgbouncer_pools_server_active_cancel_connections",
                    "Server connections that are currently forwarding a cancel request"),
            gauge("sv_being_canceled", "pgbouncer_pools_server_being_canceled_connections",
                    "Servers that normally could become idle but are waiting to do so until all in-flight cancel requests have completed"),
            gauge("sv_idle", "pgbouncer_pools_server_idle_connections",
                    "Server connections idle and ready for a client query, shown as connection"),
            gauge("sv_used", "pgbouncer_pools_server_used_connections",
                    "Server connections idle more than server_check_delay, needing server_check_query, shown as connection"),
            gauge("sv_tested", "pgbouncer_pools_server_testing_connections",
                    "Server connections currently running either server_reset_query or server_check_query, shown as connection"),
            gauge("sv_login", "pgbouncer_pools_server_login_connections",
                    "Server connections currently in the process of logging in, shown as connection"));
    private static final String MAXWAIT = "pgbouncer_pools_client_maxwait_seconds";

    private static final List<String> DATABASE_LABELS = List.of("name", "host", "port", "database", "force_user", "pool_mode");
    private static final List<Column> DATABASES = List.of(
            gauge("pool_size", "pgbouncer_databases_pool_size", "Maximum number of server connections"),
            gauge("reserve_pool_size", "pgbouncer_databases_reserve_pool",
                    "Maximum number of additional connections for this database"),
            gauge("max_connections", "pgbouncer_databases_max_connections",
                    "Maximum number of allowed connections for this database"),
            gauge("current_connections", "pgbouncer_databases_current_connections",
                    "Current number of connections for this database"),
            gauge("paused", "pgbouncer_databases_paused", "1 if this database is currently paused, else 0"),
            gauge("disabled", "pgbouncer_databases_disabled", "1 if this database is currently disabled, else 0"));

    private static final Map<String, Column> LISTS = lists();

    private static Map<String, Column> lists() {
        Map<String, Column> m = new LinkedHashMap<>();
        for (Column c : List.of(gauge("databases", "pgbouncer_databases", "Count of databases"),
                gauge("users", "pgbouncer_users", "Count of users"),
                gauge("pools", "pgbouncer_pools", "Count of pools"),
                gauge("free_clients", "pgbouncer_free_clients", "Count of free clients"),
                gauge("used_clients", "pgbouncer_used_clients", "Count of used clients"),
                gauge("login_clients", "pgbouncer_login_clients", "Count of clients in login state"),
                gauge("free_servers", "pgbouncer_free_servers", "Count of free servers"),
                gauge("used_servers", "pgbouncer_used_servers", "Count of used servers"),
                gauge("dns_names", "pgbouncer_cached_dns_names", "Count of DNS names in the cache"),
                gauge("dns_zones", "pgbouncer_cached_dns_zones", "Count of DNS zones in the cache"),
                gauge("dns_queries", "pgbouncer_in_flight_dns_queries", "Count of in-flight DNS queries"))) {
            m.put(c.column(), c);
        }
        return m;
    }

    private static final List<Column> CONFIG = List.of(
            gauge("max_client_conn", "pgbouncer_config_max_client_connections", "Config maximum number of client connections"),
            gauge("max_user_connections", "pgbouncer_config_max_user_connections",
                    "Config maximum number of server connections per user"));

    /** Every metric name this collector can produce, as exposed (counters with their _total). */
    public static List<String> exposedNames() {
        List<String> names = new ArrayList<>();
        names.add("pgbouncer_up");
        names.add("pgbouncer_version_info");
        names.add(MAXWAIT);
        names.add("pgbouncer_server_connections");
        for (List<Column> cols : List.of(STATS, POOLS, DATABASES, List.copyOf(LISTS.values()), CONFIG)) {
            for (Column c : cols) {
                names.add(c.metric() + (c.counter() ? "_total" : ""));
            }
        }
        return names;
    }

    private final Pooler pooler;

    public PgbouncerMetrics(Pooler pooler) {
        this.pooler = pooler;
    }

    @Override
    public MetricSnapshots collect() {
        List<MetricSnapshot> out = new ArrayList<>();
        boolean up = true;
        try {
            stats(out);
            pools(out);
            databases(out);
            lists(out);
            config(out);
            servers(out);
            version(out);
        } catch (RuntimeException e) {
            log.warn("metrics: reading the console's tables failed: {}", e.toString());
            up = false;
        }
        out.add(GaugeSnapshot.builder().name("pgbouncer_up").help("The pgbouncer scrape succeeded")
                .dataPoint(point(Labels.EMPTY, up ? 1 : 0)).build());
        return new MetricSnapshots(out);
    }

    private void stats(List<MetricSnapshot> out) {
        table(out, ConsoleTables.show(pooler, "STATS"), STATS, List.of("database"));
    }

    private void pools(List<MetricSnapshot> out) {
        List<Map<String, Object>> rows = ConsoleTables.show(pooler, "POOLS");
        List<String> labels = List.of("database", "user");
        table(out, rows, POOLS, labels);
        GaugeSnapshot.Builder maxwait = GaugeSnapshot.builder().name(MAXWAIT)
                .help("Age of oldest unserved client connection, shown as second");
        for (Map<String, Object> row : rows) {
            maxwait.dataPoint(point(labels(row, labels), number(row, "maxwait") + number(row, "maxwait_us") * MICROS));
        }
        out.add(maxwait.build());
    }

    private void databases(List<MetricSnapshot> out) {
        table(out, ConsoleTables.show(pooler, "DATABASES"), DATABASES, DATABASE_LABELS);
    }

    private void lists(List<MetricSnapshot> out) {
        for (Map<String, Object> row : ConsoleTables.show(pooler, "LISTS")) {
            Column c = LISTS.get(String.valueOf(row.get("list")));
            if (c != null) {
                out.add(GaugeSnapshot.builder().name(c.metric()).help(c.help())
                        .dataPoint(point(Labels.EMPTY, number(row, "items"))).build());
            }
        }
    }

    private void config(List<MetricSnapshot> out) {
        Map<String, Object> values = new TreeMap<>();
        for (Map<String, Object> row : ConsoleTables.show(pooler, "CONFIG")) {
            values.put(String.valueOf(row.get("key")), row.get("value"));
        }
        for (Column c : CONFIG) {
            out.add(GaugeSnapshot.builder().name(c.metric()).help(c.help())
                    .dataPoint(point(Labels.EMPTY, Double.parseDouble(String.valueOf(values.get(c.column()))))).build());
        }
    }

    /** The exporter's count of server connections by user, database, state, addr_port and close_needed. */
    private void servers(List<MetricSnapshot> out) {
        Map<Labels, Integer> counts = new TreeMap<>();
        for (Map<String, Object> row : ConsoleTables.show(pooler, "SERVERS")) {
            Labels l = Labels.of("user", text(row.get("user")), "database", text(row.get("database")),
                    "state", text(row.get("state")), "addr", text(row.get("addr")) + "_" + text(row.get("port")),
                    "close_needed", String.valueOf(number(row, "close_needed") == 1));
            counts.merge(l, 1, Integer::sum);
        }
        GaugeSnapshot.Builder g = GaugeSnapshot.builder().name("pgbouncer_server_connections")
                .help("Server connections with state information");
        counts.forEach((l, n) -> g.dataPoint(point(l, n)));
        out.add(g.build());
    }

    private void version(List<MetricSnapshot> out) {
        for (Map<String, Object> row : ConsoleTables.show(pooler, "VERSION")) {
            out.add(InfoSnapshot.builder().name("pgbouncer_version").help("The pgbouncer version info")
                    .dataPoint(InfoSnapshot.InfoDataPointSnapshot.builder()
                            .labels(Labels.of("version", text(row.get("version")))).build()).build());
        }
    }

    /** One metric per column, one data point per row, labelled by {@code labelColumns}. */
    private static void table(List<MetricSnapshot> out, List<Map<String, Object>> rows, List<Column> columns,
                              List<String> labelColumns) {
        for (Column c : columns) {
            if (c.counter()) {
                CounterSnapshot.Builder b = CounterSnapshot.builder().name(c.metric()).help(c.help());
                for (Map<String, Object> row : rows) {
                    b.dataPoint(CounterDataPointSnapshot.builder().labels(labels(row, labelColumns))
                            .value(number(row, c.column()) * c.scale()).build());
                }
                out.add(b.build());
            } else {
                GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(c.metric()).help(c.help());
                for (Map<String, Object> row : rows) {
                    b.dataPoint(point(labels(row, labelColumns), number(row, c.column()) * c.scale()));
                }
                out.add(b.build());
            }
        }
    }

    private static Labels labels(Map<String, Object> row, List<String> columns) {
        String[] names = columns.toArray(String[]::new);
        String[] values = new String[names.length];
        for (int i = 0; i < names.length; i++) {
            values[i] = text(row.get(names[i]));
        }
        return Labels.of(names, values);
    }

    /** NULL becomes "", as pgbouncer_exporter labels it. */
    private static String text(Object value) {
        return value == null ? "" : value.toString();
    }

    private static double number(Map<String, Object> row, String column) {
        Object v = row.get(column);
        return v instanceof Number n ? n.doubleValue() : 0;
    }

    private static GaugeDataPointSnapshot point(Labels labels, double value) {
        return GaugeDataPointSnapshot.builder().labels(labels).value(value).build();
    }
}
