package io.pgloom.failover;

import io.pgloom.wire.backend.BackendConnection;
import io.pgloom.wire.backend.BackendConnector;
import io.pgloom.wire.backend.Endpoint;
import io.pgloom.wire.backend.ServerCredentials;
import io.pgloom.wire.protocol.PgloomError;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * Probes a host over one connection kept open between rounds (a probe per second costs the
 * server no new backend process): {@code pg_is_in_recovery()}, the timeline, the WAL positions
 * and the replay delay, in one query. A connection that fails or times out is closed, and the
 * next round logs in afresh.
 *
 * <p>The probe user needs no privilege for the role and positions; for a standby's timeline
 * (pg_stat_wal_receiver's received_tli) it needs pg_read_all_stats or pg_monitor, else the
 * timeline of a standby shows as 0.
 */
public final class SqlProbe implements HostProbe {
    /** How to log in to a host for its probes. */
    public record Login(BackendConnector connector, String database, ServerCredentials credentials) {
    }

    static final String STATUS_QUERY = """
            SELECT pg_is_in_recovery(), current_setting('transaction_read_only'),
              CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END,
              CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() END,
              CASE WHEN pg_is_in_recovery() THEN (SELECT received_tli FROM pg_stat_wal_receiver)
                ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END,
              CASE WHEN pg_is_in_recovery() AND pg_last_wal_receive_lsn() IS DISTINCT FROM pg_last_wal_replay_lsn()
                THEN floor(extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::bigint ELSE 0 END""";

    private final Function<Endpoint, Login> logins;
    private final Map<Endpoint, BackendConnection> open = new ConcurrentHashMap<>();

    /** {@code logins} answers, per host, how to log in now (it may change on a reload). */
    public SqlProbe(Function<Endpoint, Login> logins) {
        this.logins = logins;
    }

    @Override
    public ProbeResult probe(Endpoint host, Duration timeout) throws InterruptedException {
        BackendConnection c = open.remove(host);
        try {
            if (c == null) {
                Login login = logins.apply(host);
                c = login.connector().login(host, login.database(), Map.of("application_name", "pgloom probe"),
                        login.credentials());
            }
            c.conduit().readTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis())));
            ProbeResult result = parse(host, SimpleQuery.run(c, STATUS_QUERY));
            open.put(host, c);
            c = null;
            return result;
        } catch (PgloomError e) {
            return ProbeResult.unreachable(host, "probe login refused: " + e.response().message());
        } catch (IOException | RuntimeException e) {
            if (Thread.currentThread().isInterrupted()) {
                throw new InterruptedException("probe of " + host + " cancelled");
            }
            return ProbeResult.unreachable(host, e.getMessage() == null ? e.toString() : e.getMessage());
        } finally {
            if (c != null) {
                c.conduit().close();
            }
        }
    }

    static ProbeResult parse(Endpoint host, List<String[]> rows) {
        if (rows.size() != 1 || rows.getFirst().length != 6) {
            return ProbeResult.unreachable(host, "unexpected answer to the probe query");
        }
        String[] r = rows.getFirst();
        boolean inRecovery = "t".equals(r[0]);
        return new ProbeResult(host, null, inRecovery, "on".equals(r[1]), r[4] == null ? 0 : Long.parseLong(r[4]),
                Lsn.parse(r[2]), Lsn.parse(r[3]), r[5] == null ? 0 : Long.parseLong(r[5]));
    }

    @Override
    public void forget(Endpoint host) {
        BackendConnection c = open.remove(host);
        if (c != null) {
            c.conduit().close();
        }
    }

    @Override
    public void close() {
        open.keySet().forEach(this::forget);
    }
}
