package io.pgloom.failover;

import io.pgloom.config.ConnectString;
import io.pgloom.wire.backend.BackendConnection;
import io.pgloom.wire.backend.Endpoint;
import io.pgloom.wire.protocol.PgloomError;
import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Promotion and repointing in SQL, logged in as the probes are (the probe user must be a
 * superuser, or have been granted EXECUTE on pg_promote and be allowed ALTER SYSTEM):
 * {@code pg_promote(true, wait)}, and for the other standbys their {@code primary_conninfo} with
 * the new primary's host and port, written by ALTER SYSTEM and applied by pg_reload_conf() (no
 * restart since PostgreSQL 13), after making the physical replication slot it streams through
 * (its primary_slot_name), if any, on the new primary. The standbys follow the new timeline
 * because recovery_target_timeline is {@code latest} by default.
 */
public final class SqlPromoter implements Promoter {
    private final Function<Endpoint, SqlProbe.Login> logins;
    private final Duration wait;

    /** {@code wait}: how long pg_promote may take before it counts as failed. */
    public SqlPromoter(Function<Endpoint, SqlProbe.Login> logins, Duration wait) {
        this.logins = logins;
        this.wait = wait;
    }

    @Override
    public void promote(Endpoint standby) throws IOException, InterruptedException {
        long seconds = Math.max(1, wait.toSeconds());
        List<String[]> rows = run(standby, "SELECT pg_promote(true, " + seconds + ")", seconds);
        if (rows.size() != 1 || !"t".equals(rows.getFirst()[0])) {
            throw new IOException("pg_promote() on " + standby + " did not finish within " + seconds + " s");
        }
    }

    @Override
    public void repoint(Endpoint standby, Endpoint primary) throws IOException, InterruptedException {
        List<String[]> rows = run(standby, "SELECT current_setting('primary_conninfo'), current_setting('primary_slot_name')", 0);
        String slot = rows.isEmpty() ? null : rows.getFirst()[1];
        if (slot != null && !slot.isBlank()) {
            // The standby streams through a slot: the new primary needs one of that name, or the
            // standby's walreceiver is refused ("replication slot does not exist").
            run(primary, "SELECT pg_create_physical_replication_slot(" + literal(slot) + ", true) WHERE NOT EXISTS"
                    + " (SELECT 1 FROM pg_replication_slots WHERE slot_name = " + literal(slot) + ")", 0);
        }
        String conninfo = repointed(rows.isEmpty() ? "" : rows.getFirst()[0], primary);
        run(standby, "ALTER SYSTEM SET primary_conninfo = " + literal(conninfo), 0);
        run(standby, "SELECT pg_reload_conf()", 0);
    }

    /** {@code conninfo} with host and port replaced by {@code primary}'s (hostaddr dropped: it would win over host). */
    static String repointed(String conninfo, Endpoint primary) {
        Map<String, String> params = new LinkedHashMap<>(conninfo == null || conninfo.isBlank() ? Map.of() : ConnectString.toMap(conninfo));
        params.remove("hostaddr");
        params.put("host", primary.host());
        params.put("port", Integer.toString(primary.port()));
        StringBuilder out = new StringBuilder();
        params.forEach((k, v) -> out.append(out.isEmpty() ? "" : " ").append(k).append("='")
                .append(v.replace("\\", "\\\\").replace("'", "\\'")).append('\''));
        return out.toString();
    }

    /** A SQL string literal, standard-conforming ('' for a quote). */
    static String literal(String s) {
        return "'" + s.replace("'", "''") + "'";
    }

    private List<String[]> run(Endpoint host, String sql, long extraSeconds) throws IOException, InterruptedException {
        SqlProbe.Login login = logins.apply(host);
        BackendConnection c;
        try {
            c = login.connector().login(host, login.database(), Map.of("application_name", "pgloom failover"),
                    login.credentials());
        } catch (PgloomError e) {
            throw new IOException("login to " + host + " refused: " + e.response().message(), e);
        }
        try {
            int base = login.connector().options().connectTimeoutMillis();
            c.conduit().readTimeout(base <= 0 ? 0 : (int) Math.min(Integer.MAX_VALUE, base + extraSeconds * 1000));
            return SimpleQuery.run(c, sql);
        } finally {
            c.conduit().close();
        }
    }
}
