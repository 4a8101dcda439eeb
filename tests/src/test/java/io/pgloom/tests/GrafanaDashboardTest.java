package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * deploy/grafana/pgloom.json is a well-formed Grafana dashboard, and every metric and label its
 * PromQL names is one a real pgloom under load serves: renaming a metric or a label breaks this.
 */
class GrafanaDashboardTest {
    private static final Path DASHBOARD = Path.of("..", "deploy", "grafana", "pgloom.json");
    /** Labels Prometheus itself adds to every series of a scrape target. */
    private static final Set<String> TARGET_LABELS = Set.of("instance", "job");
    /** Grafana's own variables, defined by no templating entry. */
    private static final Set<String> GRAFANA_VARIABLES = Set.of("__rate_interval", "__interval", "__range");
    private static final Set<String> KEYWORDS = Set.of("by", "without", "on", "ignoring", "group_left", "group_right",
            "bool", "and", "or", "unless", "offset", "inf", "nan");
    private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern MATCHER = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)\\s*(=~|!~|!=|=)\\s*\"");
    private static final Pattern GROUPING = Pattern.compile("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\(([^)]*)\\)");
    private static final Pattern RATE_OF = Pattern.compile("\\b(rate|increase|irate)\\s*\\(\\s*([a-zA-Z_:][a-zA-Z0-9_:]*)");
    private static final Pattern LABEL_VALUES = Pattern.compile("label_values\\((.*),\\s*([a-zA-Z_][a-zA-Z0-9_]*)\\s*\\)");

    /** The metrics and labels one PromQL expression uses. */
    record Uses(Set<String> metrics, Set<String> labels, Set<String> rated) {
    }

    /**
     * The metric names, the label names (in selectors and in by/without clauses) and the metrics
     * under rate()/increase() of {@code expr}. Identifiers followed by "(" are functions; strings,
     * ranges and grouping lists are taken out before looking for metric names.
     */
    static Uses uses(String expr) {
        Set<String> labels = new LinkedHashSet<>();
        Set<String> rated = new LinkedHashSet<>();
        Matcher rm = RATE_OF.matcher(expr);
        while (rm.find()) {
            rated.add(rm.group(2));
        }
        StringBuilder rest = new StringBuilder();
        Matcher braces = Pattern.compile("\\{([^}]*)\\}").matcher(expr);
        while (braces.find()) {
            Matcher m = MATCHER.matcher(braces.group(1));
            while (m.find()) {
                labels.add(m.group(1));
            }
            braces.appendReplacement(rest, " ");
        }
        braces.appendTail(rest);
        String s = rest.toString().replaceAll("\"(\\\\.|[^\"\\\\])*\"", " ").replaceAll("\\[[^]]*]", " ");
        Matcher g = GROUPING.matcher(s);
        while (g.find()) {
            for (String l : g.group(2).split(",")) {
                if (!l.isBlank()) {
                    labels.add(l.strip());
                }
            }
        }
        s = GROUPING.matcher(s).replaceAll(" ");
        Set<String> metrics = new LinkedHashSet<>();
        Matcher n = NAME.matcher(s);
        while (n.find()) {
            boolean call = s.substring(n.end()).stripLeading().startsWith("(");
            boolean partOfNumber = n.start() > 0 && Character.isDigit(s.charAt(n.start() - 1));
            if (!call && !partOfNumber && !KEYWORDS.contains(n.group().toLowerCase())) {
                metrics.add(n.group());
            }
        }
        return new Uses(metrics, labels, rated);
    }

    @Test
    void theExtractorFindsMetricsAndLabels() {
        Uses u = uses("histogram_quantile(0.99, sum by (le, database) (rate(a_bucket{user=~\"$user\", x=\"}\"}[5m])))"
                + " / ignoring (q) b + max without (z) (c) or vector(1) > 2e3");
        assertEquals(Set.of("a_bucket", "b", "c"), u.metrics());
        assertEquals(Set.of("le", "database", "user", "x", "q", "z"), u.labels());
        assertEquals(Set.of("a_bucket"), u.rated());
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> list(Object o) {
        assertInstanceOf(List.class, o);
        return (List<Map<String, Object>>) o;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) {
        assertInstanceOf(Map.class, o, String.valueOf(o));
        return (Map<String, Object>) o;
    }

    private static Map<String, Object> dashboard() throws Exception {
        assertTrue(Files.exists(DASHBOARD), DASHBOARD + " exists");
        return MiniJson.object(Files.readString(DASHBOARD));
    }

    private static List<String> variables(Map<String, Object> d) {
        return list(map(d.get("templating")).get("list")).stream().map(v -> (String) v.get("name")).toList();
    }

    /** Every PromQL text of the dashboard: panel targets, then variable queries as label_values(selector). */
    private static List<String> exprs(Map<String, Object> d) {
        List<String> out = new ArrayList<>();
        for (Map<String, Object> p : list(d.get("panels"))) {
            for (Map<String, Object> t : list(p.get("targets"))) {
                out.add((String) t.get("expr"));
            }
        }
        return out;
    }

    @Test
    void isAnImportableGrafanaDashboard() throws Exception {
        Map<String, Object> d = dashboard();
        assertEquals("pgloom", d.get("uid"));
        assertInstanceOf(String.class, d.get("title"));
        assertInstanceOf(Double.class, d.get("schemaVersion"));
        List<String> vars = variables(d);
        assertTrue(vars.containsAll(List.of("datasource", "instance", "database", "user")), vars.toString());
        Map<String, Object> ds = list(map(d.get("templating")).get("list")).getFirst();
        assertEquals("datasource", ds.get("type"));
        assertEquals("prometheus", ds.get("query"));

        Set<Double> ids = new HashSet<>();
        Set<String> titles = new HashSet<>();
        List<int[]> boxes = new ArrayList<>();
        for (Map<String, Object> p : list(d.get("panels"))) {
            String title = (String) p.get("title");
            assertNotNull(title);
            assertTrue(ids.add((Double) p.get("id")), "panel id " + p.get("id") + " given twice");
            assertTrue(titles.add(title), "title " + title + " given twice");
            assertTrue(Set.of("timeseries", "stat").contains(p.get("type")), title + ": type " + p.get("type"));
            assertEquals("${datasource}", map(p.get("datasource")).get("uid"), title);
            Map<String, Object> g = map(p.get("gridPos"));
            int[] box = {((Double) g.get("x")).intValue(), ((Double) g.get("y")).intValue(),
                ((Double) g.get("w")).intValue(), ((Double) g.get("h")).intValue()};
            assertTrue(box[0] >= 0 && box[1] >= 0 && box[2] > 0 && box[3] > 0 && box[0] + box[2] <= 24,
                    title + ": gridPos " + g);
            for (int[] other : boxes) {
                boolean apart = box[0] + box[2] <= other[0] || other[0] + other[2] <= box[0]
                        || box[1] + box[3] <= other[1] || other[1] + other[3] <= box[1];
                assertTrue(apart, title + " overlaps another panel");
            }
            boxes.add(box);
            List<Map<String, Object>> targets = list(p.get("targets"));
            assertFalse(targets.isEmpty(), title + " has targets");
            Set<String> refs = new HashSet<>();
            for (Map<String, Object> t : targets) {
                assertTrue(refs.add((String) t.get("refId")), title + ": refId given twice");
                String expr = (String) t.get("expr");
                assertTrue(expr != null && !expr.isBlank(), title + ": a target without expr");
                assertTrue(count(expr, '(') == count(expr, ')') && count(expr, '{') == count(expr, '}'),
                        title + ": unbalanced " + expr);
                Matcher v = Pattern.compile("\\$\\{?([a-zA-Z_][a-zA-Z0-9_]*)").matcher(expr);
                while (v.find()) {
                    assertTrue(vars.contains(v.group(1)) || GRAFANA_VARIABLES.contains(v.group(1)),
                            title + ": undefined variable $" + v.group(1));
                }
            }
        }
        // The panels the dashboard promises, by what they query.
        String all = String.join("\n", exprs(d));
        for (String metric : List.of("pgbouncer_pools_client_active_connections", "pgbouncer_pools_client_waiting_connections",
                "pgbouncer_pools_client_maxwait_seconds", "pgbouncer_pools_server_active_connections",
                "pgbouncer_pools_server_idle_connections", "pgbouncer_pools_server_used_connections",
                "pgbouncer_pools_server_login_connections", "pgbouncer_stats_sql_transactions_pooled_total",
                "pgbouncer_stats_queries_pooled_total", "pgloom_query_duration_seconds_bucket",
                "pgloom_client_wait_seconds_bucket", "pgloom_client_connections_refused_total",
                "pgloom_server_connections_closed_total", "jvm_memory_used_bytes", "pgloom_virtual_threads_mounted",
                "pgbouncer_up")) {
            assertTrue(all.contains(metric), "no panel queries " + metric);
        }
    }

    private static long count(String s, char c) {
        return s.chars().filter(x -> x == c).count();
    }

    @Test
    void everyMetricAndLabelItQueriesIsServedByARunningPgloom() throws Exception {
        Map<String, Object> d = dashboard();
        List<String> queries = new ArrayList<>(exprs(d));
        for (Map<String, Object> v : list(map(d.get("templating")).get("list"))) {
            if ("query".equals(v.get("type"))) {
                Matcher m = LABEL_VALUES.matcher((String) map(v.get("query")).get("query"));
                assertTrue(m.matches(), "variable " + v.get("name") + " is label_values(selector, label)");
                queries.add("sum by (" + m.group(2) + ") (" + m.group(1) + ")");
            }
        }
        Exposition e = scrapeUnderLoad();
        for (String q : queries) {
            Uses u = uses(q);
            assertFalse(u.metrics().isEmpty(), "no metric in " + q);
            for (String metric : u.metrics()) {
                List<Exposition.Sample> samples = e.samples.stream().filter(s -> s.name().equals(metric)).toList();
                assertFalse(samples.isEmpty(), "pgloom serves no " + metric + " (used by " + q + ")");
                for (String label : u.labels()) {
                    if (!TARGET_LABELS.contains(label)) {
                        assertTrue(samples.stream().allMatch(s -> s.labels().containsKey(label)),
                                metric + " has no label " + label + " (used by " + q + "): " + samples.getFirst());
                    }
                }
            }
            for (String metric : u.rated()) {
                String type = family(e, metric);
                assertTrue(type.equals("counter") || type.equals("histogram"),
                        metric + " is a " + type + ", not something to rate: " + q);
            }
            for (String metric : u.metrics()) {
                if (!u.rated().contains(metric)) {
                    assertEquals("gauge", family(e, metric), metric + " is not under rate()/increase(), so must be a gauge: " + q);
                }
            }
        }
    }

    /** The TYPE of the family a sample name belongs to (histogram parts and counters' _total included). */
    private static String family(Exposition e, String sampleName) {
        for (String suffix : List.of("", "_bucket", "_sum", "_count", "_total")) {
            if (sampleName.endsWith(suffix)) {
                String base = sampleName.substring(0, sampleName.length() - suffix.length());
                String type = e.types.get(base);
                if (type != null && (suffix.isEmpty() || suffix.equals("_total") == type.equals("counter"))) {
                    return type;
                }
            }
        }
        fail("no family for " + sampleName);
        return null;
    }

    /**
     * A pgloom with a metrics port, a pool of 2 under 6 clients (so clients wait), a refused
     * login and idle servers closed by server_idle_timeout; returns a scrape with all of that in it.
     */
    private static Exposition scrapeUnderLoad() throws Exception {
        try (Pgloom pgloom = Pgloom.start("transaction", """
                metrics_listen_port = 0
                default_pool_size = 2
                server_idle_timeout = 1
                """)) {
            int port = pgloom.server.metricsPort().orElseThrow(() -> new AssertionError("no metrics listener"));
            try (ExecutorService clients = Executors.newFixedThreadPool(6)) {
                List<Future<?>> done = new ArrayList<>();
                for (int c = 0; c < 6; c++) {
                    done.add(clients.submit(() -> {
                        try (Connection conn = pgloom.connect(); Statement st = conn.createStatement()) {
                            for (int i = 0; i < 20; i++) {
                                st.execute("SELECT pg_sleep(0.005)");
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : done) {
                    f.get(2, TimeUnit.MINUTES);
                }
            }
            try (Connection ignored = pgloom.connect("app", "alice", "wrong-password")) {
                fail("a wrong password logged in");
            } catch (SQLException expected) {
                assertEquals("28P01", expected.getSQLState(), expected.getMessage());
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (true) {
                HttpResponse<String> r = MetricsEndpointTest.get(port, "/metrics", null);
                assertEquals(200, r.statusCode());
                Exposition e = Exposition.parse(r.body());
                if (e.samples.stream().anyMatch(s -> s.name().equals("pgloom_server_connections_closed_total"))) {
                    return e;
                }
                assertTrue(System.nanoTime() < deadline, "no server was closed by server_idle_timeout within 60 s");
                Thread.sleep(200);
            }
        }
    }
}
