package io.pgloom.server.admin;

import io.pgloom.server.admin.AdminConsole.ConsoleError;
import io.pgloom.server.admin.AdminConsole.Handler;
import io.pgloom.server.control.Pooler;
import io.pgloom.wire.backend.Endpoint;
import io.pgloom.wire.protocol.SqlState;
import java.util.Locale;
import java.util.function.BiConsumer;

/**
 * The console commands that change state, answered as PgBouncer 1.25 answers them: the command
 * tag on success ("PAUSE", "SET key=value"...), PgBouncer's error text otherwise. Rights are
 * checked before any of these runs ({@link AdminConsole#execute}).
 *
 * <p>Threading: each runs on the console client's own thread; PAUSE and WAIT_CLOSE block that
 * thread (and only it) until their condition holds, as PgBouncer's console client waits.
 */
final class StateCommands {
    private StateCommands() {
    }

    static void register(BiConsumer<String, Handler> add) {
        add.accept("RELOAD", (p, a) -> {
            if (!p.control().reload()) {
                throw new ConsoleError(SqlState.CONFIG_FILE_ERROR,
                        "RELOAD failed, see logs for additional details (the config file has errors; the running config is kept)");
            }
            return Result.tag("RELOAD");
        });
        add.accept("SET", StateCommands::set);
        add.accept("PAUSE", (p, a) -> {
            String db = optionalDatabase(p, a, "pause");
            if (db == null && p.isPausedAll()) {
                throw new ConsoleError(SqlState.PROTOCOL_VIOLATION, "already suspended/paused");
            }
            p.pause(db);
            await(() -> p.awaitNoServers(db));
            return Result.tag("PAUSE");
        });
        add.accept("RESUME", (p, a) -> {
            String db = optionalDatabase(p, a, "resume");
            if (p.refusesNewClients()) {
                throw new ConsoleError(SqlState.PROTOCOL_VIOLATION, "pooler is shutting down");
            }
            if (!p.resume(db)) {
                throw new ConsoleError(SqlState.PROTOCOL_VIOLATION,
                        db == null ? "pooler is not paused/suspended" : "database " + db + " is not paused");
            }
            return Result.tag("RESUME");
        });
        add.accept("DISABLE", (p, a) -> {
            p.disable(requiredDatabase(p, a, "disable"));
            return Result.tag("DISABLE");
        });
        add.accept("ENABLE", (p, a) -> {
            p.enable(requiredDatabase(p, a, "enable"));
            return Result.tag("ENABLE");
        });
        add.accept("ENABLE_HOST", (p, a) -> {
            // pgloom's own: re-admits a host the failover module fenced.
            int colon = a.lastIndexOf(':');
            int port;
            try {
                port = colon < 0 ? -1 : Integer.parseInt(a.substring(colon + 1));
            } catch (NumberFormatException e) {
                port = -1;
            }
            if (port < 0) {
                throw new ConsoleError(SqlState.PROTOCOL_VIOLATION, "ENABLE_HOST takes \"host:port\" as SHOW HOSTS names it");
            }
            Endpoint host = new Endpoint(a.substring(0, colon), port);
            if (p.topology().status(host).isEmpty()) {
                throw new ConsoleError(SqlState.PROTOCOL_VIOLATION, "no such host: " + a);
            }
            if (!p.topology().enable(host, true, System.nanoTime())) {
                throw new ConsoleError(SqlState.PROTOCOL_VIOLATION, "host " + a + " is not fenced");
            }
            p.probeHostsNow();
            return Result.tag("ENABLE_HOST");
        });
        add.accept("RECONNECT", (p, a) -> {
            p.reconnect(optionalDatabase(p, a, "reconnect"));
            return Result.tag("RECONNECT");
        });
        add.accept("WAIT_CLOSE", (p, a) -> {
            String db = optionalDatabase(p, a, "wait for");
            await(() -> p.awaitCloseNeeded(db));
            return Result.tag("WAIT_CLOSE");
        });
        add.accept("KILL", (p, a) -> {
            p.kill(optionalDatabase(p, a, "kill"));
            return Result.tag("KILL");
        });
        add.accept("KILL_CLIENT", (p, a) -> {
            long id;
            try {
                id = Long.parseUnsignedLong(a);
            } catch (NumberFormatException e) {
                throw new ConsoleError(SqlState.PROTOCOL_VIOLATION, "invalid client pointer supplied");
            }
            if (!p.killClient(id)) {
                throw new ConsoleError(SqlState.PROTOCOL_VIOLATION, "client not found");
            }
            return Result.tag("KILL_CLIENT");
        });
        add.accept("SHUTDOWN", (p, a) -> {
            Pooler.ShutdownMode mode = a.isEmpty() ? Pooler.ShutdownMode.IMMEDIATE
                    : Pooler.ShutdownMode.valueOf(a.toUpperCase(Locale.ROOT));
            if (mode != Pooler.ShutdownMode.IMMEDIATE) {
                p.refuseNewClients(); // before the reply: the next command (RESUME) already finds the shutdown begun
            }
            // The reply goes out first; then the server stops (PgBouncer's immediate SHUTDOWN exits without one).
            return Result.tag("SHUTDOWN").afterReply(() -> p.control().shutdown(mode));
        });
    }

    /** SET key = value: "key=value" here. PgBouncer answers "SET key=value", or "SET failed". */
    private static Result set(Pooler p, String arg) throws ConsoleError {
        int eq = arg.indexOf('=');
        String key = arg.substring(0, eq);
        String value = arg.substring(eq + 1);
        String notice;
        try {
            notice = p.control().set(key, value);
        } catch (IllegalArgumentException e) {
            throw new ConsoleError(SqlState.PROTOCOL_VIOLATION, "SET failed: " + e.getMessage());
        }
        Result r = Result.tag("SET " + key + "=" + value);
        return notice == null ? r : r.notice(notice, null);
    }

    private static String optionalDatabase(Pooler p, String arg, String verb) throws ConsoleError {
        return arg.isEmpty() ? null : requiredDatabase(p, arg, verb);
    }

    private static String requiredDatabase(Pooler p, String arg, String verb) throws ConsoleError {
        if (arg.isEmpty()) {
            throw new ConsoleError(SqlState.PROTOCOL_VIOLATION, "a database is required");
        }
        if (arg.equals(Pooler.CONSOLE_DATABASE)) {
            throw new ConsoleError(SqlState.PROTOCOL_VIOLATION, "cannot " + verb + " admin db: " + arg);
        }
        if (p.config().database(arg).isEmpty()) {
            throw new ConsoleError(SqlState.PROTOCOL_VIOLATION, "no such database: " + arg);
        }
        return arg;
    }

    @FunctionalInterface
    private interface Wait {
        void run() throws InterruptedException;
    }

    private static void await(Wait wait) throws ConsoleError {
        try {
            wait.run();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ConsoleError(SqlState.ADMIN_SHUTDOWN, "interrupted: pgloom is shutting down");
        }
    }
}
