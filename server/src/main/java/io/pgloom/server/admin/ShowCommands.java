package io.pgloom.server.admin;

import io.pgloom.config.DatabaseEntry;
import io.pgloom.config.PgloomConfig;
import io.pgloom.config.Setting;
import io.pgloom.config.SettingValues;
import io.pgloom.config.Settings;
import io.pgloom.config.UserEntry;
import io.pgloom.server.admin.AdminConsole.Handler;
import io.pgloom.server.control.DatabaseStats;
import io.pgloom.server.control.Pooler;
import io.pgloom.server.control.StatsBase;
import io.pgloom.server.pool.ConnectionView;
import io.pgloom.server.pool.PoolStats.Totals;
import io.pgloom.server.pool.PoolStats;
import io.pgloom.server.pool.PoolView;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import io.pgloom.failover.HostStatus;
import io.pgloom.failover.Lsn;
import io.pgloom.wire.backend.Endpoint;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * The SHOW commands, with PgBouncer 1.25's columns in its order and with the types it sends
 * (s text, i int4, q int8, N numeric). pgloom's own figures may only ever come as new SHOW
 * commands: scripts and pgbouncer_exporter read these by name and position.
 */
final class ShowCommands {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss z");
    /** The admin console's pool, as PgBouncer lists its own: database and forced user pgbouncer. */
    private static final String CONSOLE = Pooler.CONSOLE_DATABASE;

    private ShowCommands() {
    }

    static void register(BiConsumer<String, Handler> add) {
        add.accept("HELP", (p, a) -> help());
        add.accept("VERSION", (p, a) -> version());
        add.accept("CONFIG", (p, a) -> config(p));
        add.accept("DATABASES", (p, a) -> databases(p));
        add.accept("POOLS", (p, a) -> pools(p));
        add.accept("CLIENTS", (p, a) -> connections(p.clientViews()));
        add.accept("SERVERS", (p, a) -> connections(p.poolViews().stream().flatMap(v -> v.servers().stream()).toList()));
        add.accept("USERS", (p, a) -> users(p));
        add.accept("STATS", (p, a) -> stats(p, true, true, "total_", "avg_"));
        add.accept("STATS_TOTALS", (p, a) -> stats(p, true, false, "", ""));
        add.accept("STATS_AVERAGES", (p, a) -> stats(p, false, true, "", ""));
        add.accept("TOTALS", (p, a) -> totals(p));
        add.accept("LISTS", (p, a) -> lists(p));
        add.accept("STATE", (p, a) -> state(p));
        add.accept("MEM", (p, a) -> mem(p));
        add.accept("SOCKETS", (p, a) -> sockets(p, false));
        add.accept("ACTIVE_SOCKETS", (p, a) -> sockets(p, true));
        // pgloom keeps no DNS cache of its own (the JDK resolves, with its own cache): no rows.
        add.accept("DNS_HOSTS", (p, a) -> Result.rows("hostname:s", "ttl:i", "addrs:s"));
        add.accept("DNS_ZONES", (p, a) -> Result.rows("zonename:s", "serial:i", "count:i"));
        PeerTables.register(add);
        add.accept("HOSTS", (p, a) -> hosts(p));
    }

    /**
     * pgloom's own: every host the failover probes watch, as they last found it. state is up,
     * down, waiting (up, in its readmit_delay) or fenced; lag_bytes is -1 while unknown.
     */
    private static Result hosts(Pooler pooler) {
        Result r = Result.rows("host:s", "port:i", "state:s", "role:s", "read_only:i", "timeline:q", "lsn:s",
                "lag_bytes:q", "lag_ms:q", "fenced:s", "last_error:s", "databases:s");
        long now = System.nanoTime();
        List<DatabaseEntry> dbs = pooler.config().databases();
        for (HostStatus h : pooler.topology().all()) {
            String names = dbs.stream().filter(db -> Endpoint.of(db).contains(h.host())).map(DatabaseEntry::name)
                    .collect(java.util.stream.Collectors.joining(","));
            r.row(h.host().host(), h.host().port(), h.state(now), h.role().word(), h.readOnly() ? 1 : 0, h.timeline(),
                    Lsn.format(h.lsn()), h.lagBytes(), h.lagMillis(), h.fenced(), h.lastError(), names);
        }
        return r;
    }

    static String versionText() {
        String v = ShowCommands.class.getPackage().getImplementationVersion();
        return "PgBouncer " + AdminConsole.PGBOUNCER_VERSION + " (pgloom " + (v == null ? "development build" : v) + ")";
    }

    private static Result help() {
        return Result.tag("SHOW").notice("Console usage", """

                \tSHOW HELP|CONFIG|DATABASES|POOLS|CLIENTS|SERVERS|USERS|VERSION
                \tSHOW LISTS|MEM|STATE|PEERS|PEER_POOLS|HOSTS
                \tSHOW STATS|STATS_TOTALS|STATS_AVERAGES|TOTALS
                \tnot implemented in pgloom yet:
                \tSHOW FDS|SOCKETS|ACTIVE_SOCKETS|DNS_HOSTS|DNS_ZONES
                \tSET key = arg
                \tRELOAD
                \tPAUSE [<db>]
                \tRESUME [<db>]
                \tDISABLE <db>
                \tENABLE <db>
                \tENABLE_HOST "<host>:<port>"
                \tRECONNECT [<db>]
                \tKILL [<db>]
                \tKILL_CLIENT <client_id>
                \tSUSPEND
                \tSHUTDOWN
                \tSHUTDOWN WAIT_FOR_SERVERS|WAIT_FOR_CLIENTS
                \tWAIT_CLOSE [<db>]""");
    }

    private static Result version() {
        return Result.rows("version:s").row(versionText());
    }

    private static Result config(Pooler pooler) {
        SettingValues values = pooler.config().settings();
        Result r = Result.rows("key:s", "value:s", "default:s", "changeable:s");
        for (Setting s : Settings.pgbouncer()) {
            r.row(s.name(), values.raw(s.name()), s.defaultValue(), s.reloadable() ? "yes" : "no");
        }
        return r;
    }

    private static Result databases(Pooler pooler) {
        PgloomConfig config = pooler.config();
        SettingValues s = config.settings();
        Map<String, Integer> clients = pooler.clientCounts(true);
        Map<String, DatabaseEntry> entries = new TreeMap<>();
        for (DatabaseEntry db : config.databases()) {
            if (!db.isFallback()) {
                entries.put(db.name(), db);
            }
        }
        for (PoolView pool : pooler.poolViews()) {
            // Databases made from the * entry appear once used, as PgBouncer's auto-databases do.
            config.database(pool.database()).ifPresent(db -> entries.putIfAbsent(db.name(), db));
        }
        Result r = Result.rows("name:s", "host:s", "port:i", "database:s", "force_user:s", "pool_size:i",
                "min_pool_size:i", "reserve_pool_size:i", "server_lifetime:i", "pool_mode:s", "load_balance_hosts:s",
                "max_connections:i", "current_connections:i", "max_client_connections:i",
                "current_client_connections:i", "paused:i", "disabled:i");
        int maxDbClients = s.integer("max_db_client_connections");
        int lifetime = (int) s.time("server_lifetime").toSeconds();
        boolean consoleListed = false;
        for (DatabaseEntry db : entries.values()) {
            if (!consoleListed && db.name().compareTo(CONSOLE) > 0) {
                consoleRow(r, pooler, lifetime, clients);
                consoleListed = true;
            }
            r.row(db.name(), db.hosts().isEmpty() ? null : String.join(",", db.hosts()), db.port(), db.serverDatabase(),
                    db.user(), db.poolSize().orElse(s.integer("default_pool_size")),
                    db.minPoolSize().orElse(s.integer("min_pool_size")), db.reservePool().orElse(s.integer("reserve_pool_size")),
                    db.serverLifetime().map(d -> (int) d.toSeconds()).orElse(lifetime), db.poolMode().map(m -> m.configName()).orElse(null),
                    db.hosts().size() > 1 ? db.loadBalanceHosts().word() : null,
                    db.maxDbConnections().orElse(s.integer("max_db_connections")),
                    pooler.serverConnections(db.name(), true), db.maxDbClientConnections().orElse(maxDbClients),
                    clients.getOrDefault(db.name(), 0), pooler.isPaused(db.name()) ? 1 : 0, pooler.isDisabled(db.name()) ? 1 : 0);
        }
        if (!consoleListed) {
            consoleRow(r, pooler, lifetime, clients);
        }
        return r;
    }

    private static void consoleRow(Result r, Pooler pooler, int lifetime, Map<String, Integer> clients) {
        int port = pooler.config().settings().integer("listen_port");
        // max_db_client_connections holds for the console too (admin_users excepted), so its row shows it.
        int maxClients = pooler.config().settings().integer("max_db_client_connections");
        r.row(CONSOLE, null, port, CONSOLE, CONSOLE, 2, 0, 0, lifetime, "statement", null, 0, 0, maxClients,
                clients.getOrDefault(CONSOLE, 0), 0, 0);
    }

    private static Result pools(Pooler pooler) {
        Result r = Result.rows("database:s", "user:s", "cl_active:i", "cl_waiting:i", "cl_active_cancel_req:i",
                "cl_waiting_cancel_req:i", "sv_active:i", "sv_active_cancel:i", "sv_being_canceled:i", "sv_idle:i",
                "sv_used:i", "sv_tested:i", "sv_login:i", "maxwait:i", "maxwait_us:i", "pool_mode:s", "load_balance_hosts:s");
        boolean consoleListed = false;
        for (PoolView p : pooler.poolViews()) {
            if (!consoleListed && p.database().compareTo(CONSOLE) > 0) {
                consolePool(r, pooler);
                consoleListed = true;
            }
            long waitMicros = p.maxWaitNanos() / 1000;
            String lb = pooler.config().database(p.database()).filter(db -> db.hosts().size() > 1)
                    .map(db -> db.loadBalanceHosts().word()).orElse(null);
            r.row(p.database(), p.user(), p.activeClients(), p.waitingClients(), 0, 0, p.servers("active"), 0,
                    p.servers("being_canceled"), p.servers("idle"), p.servers("used"), p.servers("tested"), p.loggingIn(),
                    (int) (waitMicros / 1_000_000), (int) (waitMicros % 1_000_000), p.poolMode().configName(), lb);
        }
        if (!consoleListed) {
            consolePool(r, pooler);
        }
        return r;
    }

    private static void consolePool(Result r, Pooler pooler) {
        r.row(CONSOLE, CONSOLE, pooler.consoleClientCount(), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "statement", null);
    }

    private static final String[] CONNECTION_COLUMNS = {"type:s", "user:s", "database:s", "replication:s", "state:s",
        "addr:s", "port:i", "local_addr:s", "local_port:i", "connect_time:s", "request_time:s", "wait:i", "wait_us:i",
        "close_needed:i", "ptr:s", "link:s", "remote_pid:i", "tls:s", "application_name:s", "prepared_statements:i", "id:i"};

    /**
     * SHOW SOCKETS adds PgBouncer's buffer positions to the connection columns. pgloom reads each
     * socket through a stream whose buffer is not PgBouncer's packet buffer, so they are all 0.
     */
    private static final String[] BUFFER_COLUMNS = {"recv_pos:i", "pkt_pos:i", "pkt_remain:i", "send_pos:i",
        "send_remain:i", "pkt_avail:i", "send_avail:i"};

    private static Result connections(List<ConnectionView> views) {
        Result r = Result.rows(CONNECTION_COLUMNS);
        views.forEach(c -> r.row(connectionRow(c).toArray()));
        return r;
    }

    /** SHOW SOCKETS (every client and server) and SHOW ACTIVE_SOCKETS (those in the "active" state). */
    private static Result sockets(Pooler p, boolean activeOnly) {
        List<String> columns = new ArrayList<>(List.of(CONNECTION_COLUMNS));
        columns.addAll(List.of(BUFFER_COLUMNS));
        Result r = Result.rows(columns.toArray(String[]::new));
        List<ConnectionView> views = new ArrayList<>(p.clientViews());
        p.poolViews().forEach(v -> views.addAll(v.servers()));
        for (ConnectionView c : views) {
            if (!activeOnly || c.state().equals("active")) {
                List<Object> row = connectionRow(c);
                row.addAll(List.of(0, 0, 0, 0, 0, 0, 0));
                r.row(row.toArray());
            }
        }
        return r;
    }

    private static List<Object> connectionRow(ConnectionView c) {
        long waitMicros = c.waitNanos() / 1000;
        return new ArrayList<>(Arrays.asList(c.type(), c.user(), c.database(), c.replication(), c.state(), c.addr(), c.port(),
                c.localAddr(), c.localPort(), time(c.connectEpochMillis()), time(c.requestEpochMillis()),
                (int) (waitMicros / 1_000_000), (int) (waitMicros % 1_000_000), c.closeNeeded() ? 1 : 0, c.ptr(), c.link(),
                c.remotePid(), c.tls(), c.applicationName(), c.preparedStatements(), c.id()));
    }

    private static String time(long epochMillis) {
        return TIME.format(Instant.ofEpochMilli(epochMillis).atZone(ZoneId.systemDefault()));
    }

    private static Result users(Pooler pooler) {
        PgloomConfig config = pooler.config();
        SettingValues s = config.settings();
        TreeSet<String> names = new TreeSet<>(pooler.authFileUsers());
        names.addAll(config.users().keySet());
        pooler.poolViews().forEach(p -> names.add(p.user()));
        names.add(CONSOLE);
        Map<String, Integer> clients = pooler.clientCounts(false);
        Result r = Result.rows("name:s", "pool_size:s", "reserve_pool_size:s", "pool_mode:s", "max_user_connections:i",
                "current_connections:i", "max_user_client_connections:i", "current_client_connections:i");
        for (String name : names) {
            UserEntry u = config.users().get(name);
            r.row(name, padded(u, "pool_size"), padded(u, "reserve_pool_size"),
                    u == null ? null : u.poolMode().map(m -> m.configName()).orElse(null),
                    u != null && u.maxUserConnections().isPresent() ? u.maxUserConnections().getAsInt() : s.integer("max_user_connections"),
                    pooler.serverConnections(name, false),
                    u == null ? s.integer("max_user_client_connections")
                            : u.maxUserClientConnections().orElse(s.integer("max_user_client_connections")),
                    clients.getOrDefault(name, 0));
        }
        return r;
    }

    /** A [users] override as PgBouncer prints it: text, right-aligned to 9 places ("%9d"), empty when unset. */
    private static String padded(UserEntry u, String key) {
        String v = u == null ? null : u.raw().get(key);
        if (v == null) {
            return "";
        }
        try {
            return String.format("%9d", Integer.parseInt(v.trim()));
        } catch (NumberFormatException e) {
            return v;
        }
    }

    /** The twelve figures of a STATS row, in PgBouncer 1.25's order, with the column name stems. */
    private static final String[] STEMS = {"server_assignment_count", "xact_count", "query_count", "received", "sent",
        "xact_time", "query_time", "wait_time", "client_parse_count", "server_parse_count", "bind_count", "client_login_count"};
    private static final List<Function<Totals, Long>> FIGURES = List.of(Totals::serverAssignments, Totals::transactions,
            Totals::queries, Totals::bytesReceived, Totals::bytesSent, Totals::transactionMicros, Totals::queryMicros,
            Totals::waitMicros, Totals::clientParses, Totals::serverParses, Totals::binds, Totals::clientLogins);

    /**
     * SHOW STATS (both halves, "total_"/"avg_" prefixes), STATS_TOTALS or STATS_AVERAGES (no
     * prefixes; bytes named bytes_received/bytes_sent, and the averages' prepared-statement columns
     * keep their avg_ prefix, as in PgBouncer 1.25).
     */
    private static Result stats(Pooler pooler, boolean totals, boolean averages, String totalPrefix, String avgPrefix) {
        List<String> cols = new ArrayList<>();
        cols.add("database:s");
        boolean both = totals && averages;
        if (totals) {
            for (String stem : STEMS) {
                cols.add(totalPrefix + (both ? stem : bare(stem, false)) + ":N");
            }
        }
        if (averages) {
            for (String stem : STEMS) {
                cols.add(avgPrefix + (both ? avgStem(stem) : bare(stem, true)) + ":N");
            }
        }
        Result r = Result.rows(cols.toArray(String[]::new));
        StatsBase base = pooler.statsBase();
        for (Map.Entry<String, DatabaseStats> e : pooler.statsByDatabase(base).entrySet()) {
            List<Object> row = new ArrayList<>();
            row.add(e.getKey());
            Totals t = e.getValue().current();
            if (totals) {
                FIGURES.forEach(f -> row.add(f.apply(t)));
            }
            if (averages) {
                Totals avg = e.getValue().averages(base.micros());
                FIGURES.forEach(f -> row.add(f.apply(avg)));
            }
            r.row(row.toArray());
        }
        return r;
    }

    /** SHOW STATS' avg_ names: avg_recv for received, otherwise the stem. */
    private static String avgStem(String stem) {
        return stem.equals("received") ? "recv" : stem;
    }

    /** STATS_TOTALS/STATS_AVERAGES names. */
    private static String bare(String stem, boolean average) {
        return switch (stem) {
            case "received" -> "bytes_received";
            case "sent" -> "bytes_sent";
            case "client_parse_count", "server_parse_count", "bind_count", "client_login_count" -> average ? "avg_" + stem : stem;
            default -> stem;
        };
    }

    /** SHOW TOTALS' row names, PgBouncer's {@code "total_"/"avg_" #field} of its PgStats fields. */
    private static final String[] TOTALS_FIELDS = {"server_assignment_count", "xact_count", "query_count", "client_bytes",
        "server_bytes", "xact_time", "query_time", "wait_time", "ps_client_parse_count", "ps_server_parse_count",
        "ps_bind_count", "client_login_count"};

    private static Result totals(Pooler pooler) {
        Totals total = Totals.ZERO;
        Totals older = Totals.ZERO;
        StatsBase base = pooler.statsBase();
        for (DatabaseStats d : pooler.statsByDatabase(base).values()) {
            total = total.plus(d.current());
            older = older.plus(d.older());
        }
        Totals avg = total.averagesSince(older, base.micros());
        Result r = Result.rows("name:s", "value:N");
        for (int i = 0; i < TOTALS_FIELDS.length; i++) {
            r.row("total_" + TOTALS_FIELDS[i], FIGURES.get(i).apply(total));
        }
        for (int i = 0; i < TOTALS_FIELDS.length; i++) {
            r.row("avg_" + TOTALS_FIELDS[i], FIGURES.get(i).apply(avg));
        }
        return r;
    }

    private static Result lists(Pooler pooler) {
        PgloomConfig config = pooler.config();
        List<PoolView> pools = pooler.poolViews();
        int servers = pools.stream().mapToInt(p -> p.servers().size()).sum();
        int clients = pooler.clientCounts(true).values().stream().mapToInt(Integer::intValue).sum();
        long databases = config.databases().stream().filter(d -> !d.isFallback()).count() + 1;
        TreeSet<String> users = new TreeSet<>(pooler.authFileUsers());
        users.addAll(config.users().keySet());
        users.add(CONSOLE);
        Result r = Result.rows("list:s", "items:i");
        r.row("databases", (int) databases);
        r.row("users", users.size());
        r.row("peers", config.peers().size());
        r.row("pools", pools.size() + 1);
        r.row("peer_pools", pooler.peerPools().size());
        // pgloom keeps no free lists: a closed connection's memory goes back to the JVM.
        r.row("free_clients", 0);
        r.row("used_clients", clients);
        r.row("login_clients", Math.max(0, pooler.clientCount() - clients));
        r.row("free_servers", 0);
        r.row("used_servers", servers);
        // Hosts are resolved by the JVM; pgloom has no DNS cache of its own.
        r.row("dns_names", 0);
        r.row("dns_zones", 0);
        r.row("dns_queries", 0);
        r.row("dns_pending", 0);
        return r;
    }

    private static Result state(Pooler pooler) {
        // PgBouncer's global state: PAUSE without a database makes it paused; pgloom has no SUSPEND.
        boolean paused = pooler.isPausedAll();
        return Result.rows("key:s", "value:s").row("active", paused ? "no" : "yes").row("paused", paused ? "yes" : "no")
                .row("suspended", "no");
    }

    /**
     * pgloom has no slab allocator: its figures are the JVM's. Each row keeps PgBouncer's meaning
     * of the columns: {@code size} bytes per item, {@code used} and {@code free} items, and
     * {@code memtotal} bytes (at most 2147483647, as the column is int4).
     */
    private static Result mem(Pooler pooler) {
        Result r = Result.rows("name:s", "size:i", "used:i", "free:i", "memtotal:i");
        int mib = 1 << 20;
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        r.row("heap", mib, (int) (heap.getUsed() / mib), (int) ((heap.getCommitted() - heap.getUsed()) / mib),
                clamp(heap.getCommitted()));
        MemoryUsage nonHeap = ManagementFactory.getMemoryMXBean().getNonHeapMemoryUsage();
        r.row("non_heap", mib, (int) (nonHeap.getUsed() / mib), (int) ((nonHeap.getCommitted() - nonHeap.getUsed()) / mib),
                clamp(nonHeap.getCommitted()));
        for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (!pool.getName().equals("direct") && !pool.getName().equals("mapped")) {
                continue;
            }
            long count = pool.getCount();
            r.row(pool.getName() + "_buffers", count == 0 ? 0 : clamp(pool.getTotalCapacity() / count), clamp(count), 0,
                    clamp(pool.getTotalCapacity()));
        }
        // Each client and each server connection is one virtual thread; their stacks live on the heap.
        r.row("client_threads", 0, pooler.clientCount(), 0, 0);
        int servers = pooler.poolViews().stream().mapToInt(p -> p.servers().size() + p.loggingIn()).sum();
        r.row("server_threads", 0, servers, 0, 0);
        r.row("platform_threads", 0, ManagementFactory.getThreadMXBean().getThreadCount(), 0, 0);
        return r;
    }

    private static int clamp(long v) {
        return (int) Math.min(Integer.MAX_VALUE, Math.max(0, v));
    }
}
