package io.pgloom.server.control;

import io.pgloom.config.DatabaseEntry;
import io.pgloom.config.PgloomConfig;
import io.pgloom.config.UserEntry;
import io.pgloom.server.backend.ServerConnection;
import io.pgloom.server.frontend.ClientSession;
import io.pgloom.server.pool.ConnectionView;
import io.pgloom.server.pool.Pool;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The clients of this instance from admission to departure: the count max_client_conn checks,
 * the per-database and per-user counts of max_db_client_connections and
 * max_user_client_connections, their cancel keys, and the admin console's clients (listed apart:
 * they have no pool). What SHOW CLIENTS, SHOW DATABASES/USERS and SHOW POOLS count comes from here.
 *
 * <p>Threading: any thread. Each client's own thread admits and removes it; admin commands,
 * shutdown and scrapes iterate the concurrent maps without a lock, so they see a sample.
 */
final class ClientRegistry implements CancelRouter.LocalClients {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ClientRegistry.class);
    private final ConcurrentHashMap<ClientSession, Boolean> clients = new ConcurrentHashMap<>();
    private final AtomicInteger admitted = new AtomicInteger();
    /** Clients counted per database name and per login user name, for max_db/user_client_connections. */
    private final ConcurrentHashMap<String, AtomicInteger> perDatabase = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, AtomicInteger> perUser = new ConcurrentHashMap<>();
    /** Clients logged into the admin console (listed apart: they have no pool). */
    private final Set<ClientSession> consoleClients = ConcurrentHashMap.newKeySet();
    private final CancelKeys cancelKeys;

    ClientRegistry(int peerId) {
        this.cancelKeys = new CancelKeys(peerId);
    }

    /**
     * Counts a client against {@code maxClientConn} (0: no limit) and gives it its cancel key;
     * false (refused as over max_client_conn) also when no cancel key is free.
     */
    boolean admit(ClientSession client, int maxClientConn) {
        clients.put(client, Boolean.TRUE);
        boolean keyed = cancelKeys.assign(client);
        int n = admitted.incrementAndGet();
        if (!keyed) {
            log.warn("{}: refused: all {} cancel keys of peer_id {} are in use (a peer id leaves 15 bits per process)",
                    client, cancelKeys.size(), cancelKeys.peerId());
            return false;
        }
        return maxClientConn <= 0 || n <= maxClientConn;
    }

    /** The peer id new cancel keys carry (peer_id; 0: none). */
    void peerId(int id) {
        cancelKeys.peerId(id);
    }

    int peerId() {
        return cancelKeys.peerId();
    }

    /**
     * Counts a client against max_db_client_connections and max_user_client_connections (the
     * entry's own limit, else the global one; 0 = none), as PgBouncer does before authentication.
     * The client counts even when refused, until {@link #remove}, like max_client_conn. An
     * admin_users member logging into the admin console is never refused, as in PgBouncer.
     *
     * @return the refusal's message, or null when the client is within both limits
     */
    String admitByName(ClientSession client, DatabaseEntry db, String database, String user,
            PgloomConfig config, PoolerSettings settings) {
        client.markCountedByName(true);
        int inDatabase = perDatabase.computeIfAbsent(database, n -> new AtomicInteger()).incrementAndGet();
        int ofUser = perUser.computeIfAbsent(user, n -> new AtomicInteger()).incrementAndGet();
        if (db == null && settings.adminUsers().contains(user)) {
            return null;
        }
        int dbLimit = db != null && db.maxDbClientConnections().isPresent()
                ? db.maxDbClientConnections().getAsInt() : settings.maxDbClientConnections();
        if (dbLimit > 0 && inDatabase > dbLimit) {
            return "client connections exceeded (max_db_client_connections)";
        }
        UserEntry u = config.users().get(user);
        int userLimit = u != null && u.maxUserClientConnections().isPresent()
                ? u.maxUserClientConnections().getAsInt() : settings.maxUserClientConnections();
        if (userLimit > 0 && ofUser > userLimit) {
            return "client connections exceeded (max_user_client_connections)";
        }
        return null;
    }

    /** Takes back what a refused {@link #admitByName} counted, so that it may be asked again. */
    void uncountByName(ClientSession client, String database, String user) {
        perDatabase.get(database).decrementAndGet();
        perUser.get(user).decrementAndGet();
        client.markCountedByName(false);
    }

    /** Forgets a client that goes; true if it had been admitted (and is now no longer counted). */
    boolean remove(ClientSession client) {
        if (clients.remove(client) == null) {
            return false;
        }
        admitted.decrementAndGet();
        cancelKeys.forget(client);
        if (client.countedByName()) {
            perDatabase.get(client.databaseName()).decrementAndGet();
            perUser.get(client.user()).decrementAndGet();
        }
        return true;
    }

    /** Clients admitted now (max_client_conn's count), console clients included. */
    int count() {
        return admitted.get();
    }

    boolean isEmpty() {
        return clients.isEmpty();
    }

    /** True while some client is not an admin console client (SHUTDOWN WAIT_FOR_CLIENTS waits for none). */
    boolean hasPoolClients() {
        return clients.size() > consoleClients.size();
    }

    boolean isConsole(ClientSession c) {
        return consoleClients.contains(c);
    }

    /** The admitted clients now: a copy, for commands that close some of them as they go. */
    List<ClientSession> snapshot() {
        return new ArrayList<>(clients.keySet());
    }

    /** The client whose SHOW CLIENTS id is {@code id}, or null. */
    ClientSession byId(long id) {
        for (ClientSession c : clients.keySet()) {
            if (c.socketId() == id) {
                return c;
            }
        }
        return null;
    }

    @Override
    public boolean forwardCancel(int processId, int secretKey) {
        ClientSession c = cancelKeys.find(processId, secretKey);
        if (c == null) {
            return false;
        }
        c.forwardCancel();
        return true;
    }

    void consoleJoined(ClientSession session) {
        consoleClients.add(session);
    }

    void consoleLeft(ClientSession session) {
        consoleClients.remove(session);
    }

    int consoleCount() {
        return consoleClients.size();
    }

    /** Logged-in clients per pool, for SHOW POOLS' cl_* columns. */
    Map<Pool, Integer> perPool() {
        Map<Pool, Integer> counts = new IdentityHashMap<>();
        for (ClientSession c : clients.keySet()) {
            Pool p = c.pool();
            if (p != null) {
                counts.merge(p, 1, Integer::sum);
            }
        }
        return counts;
    }

    /** Logged-in clients per database name and per user name: DATABASES' and USERS' current_client_connections. */
    Map<String, Integer> counts(boolean byDatabase) {
        Map<String, Integer> counts = new HashMap<>();
        for (ClientSession c : clients.keySet()) {
            Pool p = c.pool();
            if (p != null) {
                counts.merge(byDatabase ? p.key().database() : c.user(), 1, Integer::sum);
            }
        }
        for (ClientSession c : consoleClients) {
            counts.merge(byDatabase ? Pooler.CONSOLE_DATABASE : c.user(), 1, Integer::sum);
        }
        return counts;
    }

    /** SHOW CLIENTS' rows: pool clients first, each with its server from {@code linked}, then console clients. */
    List<ConnectionView> views(Map<ClientSession, ServerConnection> linked) {
        long now = System.nanoTime();
        long nowMillis = System.currentTimeMillis();
        List<ConnectionView> views = new ArrayList<>();
        for (ClientSession c : clients.keySet()) {
            Pool p = c.pool();
            if (p != null) {
                views.add(c.view(p.key().database(), linked.get(c), now, nowMillis));
            }
        }
        for (ClientSession c : consoleClients) {
            views.add(c.view(Pooler.CONSOLE_DATABASE, null, now, nowMillis));
        }
        return views;
    }
}
