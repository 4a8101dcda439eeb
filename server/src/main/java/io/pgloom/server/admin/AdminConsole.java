package io.pgloom.server.admin;

import io.pgloom.config.AuthType;
import io.pgloom.server.control.Pooler;
import io.pgloom.server.control.PoolerSettings;
import io.pgloom.server.frontend.ConsoleClient;
import io.pgloom.wire.protocol.Backend;
import io.pgloom.wire.protocol.PgloomError;
import io.pgloom.wire.protocol.SqlState;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin console: PgBouncer's virtual database {@code pgbouncer}. Decides who may log in, and
 * holds the one table of commands, each with the right it needs.
 *
 * <p>Every command, SHOW or not, goes through {@link #execute}, which looks the command up in
 * {@link #COMMANDS} and checks the caller's {@link Right} against the entry before anything else
 * runs: a command cannot be added without saying who may run it, and no handler checks rights on
 * its own (PgBouncer's CVE-2026-6667 was a handler that forgot to).
 *
 * <p>Threading: {@link #serve} runs on the console client's own thread; the command table is
 * immutable.
 */
public final class AdminConsole implements Pooler.Console {
    private static final Logger log = LoggerFactory.getLogger(AdminConsole.class);

    /** The PgBouncer release whose console pgloom answers like (columns, errors, SHOW VERSION). */
    static final String PGBOUNCER_VERSION = "1.25.2";

    /** SHOW VERSION's line, also the first line of {@code pgloom --version}: "PgBouncer 1.25.2 (pgloom ...)". */
    public static String versionText() {
        return ShowCommands.versionText();
    }

    /** What a console user holds: admin_users get ADMIN, stats_users STATS. */
    enum Right {
        STATS, ADMIN;

        boolean allows(Right needed) {
            return compareTo(needed) >= 0;
        }
    }

    /** What a command accepts after its name. */
    enum Args {
        NONE, OPTIONAL, REQUIRED, SHUTDOWN_MODE
    }

    @FunctionalInterface
    interface Handler {
        Result run(Pooler pooler, String arg) throws ConsoleError;
    }

    /** One row of the command table. */
    record Command(String name, Right right, Args args, Handler handler) {
    }

    /** An ERROR for the console client (the session goes on). */
    static final class ConsoleError extends Exception {
        final String sqlState;

        ConsoleError(String sqlState, String message) {
            super(message, null, false, false);
            this.sqlState = sqlState;
        }
    }

    /** What each state-changing command takes after its name. */
    private static final Map<String, Args> ARGS = Map.ofEntries(Map.entry("SET", Args.REQUIRED), Map.entry("RELOAD", Args.NONE),
            Map.entry("PAUSE", Args.OPTIONAL), Map.entry("RESUME", Args.OPTIONAL), Map.entry("DISABLE", Args.OPTIONAL),
            Map.entry("ENABLE", Args.OPTIONAL), Map.entry("ENABLE_HOST", Args.REQUIRED), Map.entry("RECONNECT", Args.OPTIONAL),
            Map.entry("KILL", Args.OPTIONAL),
            Map.entry("KILL_CLIENT", Args.REQUIRED), Map.entry("SHUTDOWN", Args.SHUTDOWN_MODE), Map.entry("WAIT_CLOSE", Args.OPTIONAL));

    /**
     * Every command, by the words that name it ("SHOW POOLS", "RELOAD"), with the right it needs:
     * SHOW for stats users, everything that changes state for admins only.
     */
    static final Map<String, Command> COMMANDS = commands();

    private static Map<String, Command> commands() {
        Map<String, Command> t = new LinkedHashMap<>();
        ShowCommands.register((name, handler) -> t.put("SHOW " + name, new Command("SHOW " + name, Right.STATS, Args.NONE, handler)));
        // FDS serves PgBouncer's online restart, which pgloom does not do; it shows cancel keys, so admins only.
        t.put("SHOW FDS", new Command("SHOW FDS", Right.ADMIN, Args.NONE, notImplemented("SHOW FDS")));
        StateCommands.register((name, handler) -> t.put(name, new Command(name, Right.ADMIN, ARGS.get(name), handler)));
        // SUSPEND hands sockets to a new process on online restart, which pgloom does not do.
        t.put("SUSPEND", new Command("SUSPEND", Right.ADMIN, Args.NONE, notImplemented("SUSPEND")));
        return Map.copyOf(t);
    }


    private static Handler notImplemented(String name) {
        return (pooler, arg) -> {
            throw new ConsoleError(SqlState.FEATURE_NOT_SUPPORTED, name + " is not implemented in pgloom yet");
        };
    }

    // PgBouncer's command grammar (admin.c): a word, an optional argument word, an optional ';'.
    private static final String WS0 = "[ \\t\\n\\r]*";
    private static final String WS1 = "[ \\t\\n\\r]+";
    private static final String WORD = "(\"(?:[^\"]+|\"\")*\"|[0-9a-z_]+)";
    private static final String STRING = "('(?:[^']|'')*')";
    private static final Pattern CMD = Pattern.compile("^" + WS0 + WORD + "(?:" + WS1 + WORD + ")?" + WS0 + "(?:;" + WS0 + ")?$",
            Pattern.CASE_INSENSITIVE);
    private static final Pattern SET_WORD = Pattern.compile("^" + WS0 + "set" + WS1 + WORD + WS0 + "(?:=|to)" + WS0 + WORD
            + WS0 + "(?:;" + WS0 + ")?$", Pattern.CASE_INSENSITIVE);
    private static final Pattern SET_STRING = Pattern.compile("^" + WS0 + "set" + WS1 + WORD + WS0 + "(?:=|to)" + WS0 + STRING
            + WS0 + "(?:;" + WS0 + ")?$", Pattern.CASE_INSENSITIVE);

    /**
     * Parameters some drivers SHOW or SET on any server; PgBouncer fakes them on its console so
     * that such clients work (its fake_param_list). SET of one is ignored with a notice.
     */
    private static final Map<String, String> FAKE_PARAMETERS = Map.of(
            "client_encoding", "UTF-8", "default_transaction_isolation", "read committed",
            "standard_conforming_strings", "on", "datestyle", "ISO", "timezone", "GMT", "extra_float_digits", "2");

    private final Pooler pooler;

    public AdminConsole(Pooler pooler) {
        this.pooler = pooler;
    }

    /** The right of an authenticated user, or null if PgBouncer would say "not allowed". */
    static Right rightOf(PoolerSettings settings, String user) {
        if (settings.adminUsers().contains(user)) {
            return Right.ADMIN;
        }
        if (settings.statsUsers().contains(user) || settings.authType() == AuthType.ANY) {
            return Right.STATS; // auth_type any lets everyone in as a stats user, as PgBouncer does
        }
        return null;
    }

    @Override
    public void serve(ConsoleClient client) throws IOException, PgloomError {
        Right right = client.isOwner() ? Right.ADMIN : rightOf(pooler.settings(), client.user());
        if (right == null) {
            throw PgloomError.fatal(SqlState.PROTOCOL_VIOLATION, "not allowed")
                    .withLogDetail("admin console: \"" + client.user() + "\" is in neither admin_users nor stats_users");
        }
        pooler.consoleStats().loggedIn();
        pooler.metrics().clientAccepted();
        ByteArrayOutputStream reply = new ByteArrayOutputStream(256);
        reply.writeBytes(Backend.authenticationOk());
        // What PgBouncer's console tells clients at login (admin_setup's welcome).
        reply.writeBytes(Backend.parameterStatus("server_version", PGBOUNCER_VERSION + "/bouncer"));
        reply.writeBytes(Backend.parameterStatus("client_encoding", "UTF8"));
        reply.writeBytes(Backend.parameterStatus("server_encoding", "UTF8"));
        reply.writeBytes(Backend.parameterStatus("DateStyle", "ISO"));
        reply.writeBytes(Backend.parameterStatus("TimeZone", "GMT"));
        reply.writeBytes(Backend.parameterStatus("standard_conforming_strings", "on"));
        reply.writeBytes(Backend.parameterStatus("is_superuser", "on"));
        reply.writeBytes(Backend.backendKeyData(client.cancelPid(), client.cancelSecret()));
        reply.writeBytes(Backend.readyForQuery('I'));
        client.write(reply.toByteArray());
        if (pooler.settings().logConnections()) {
            log.info("{}: admin console login ok ({} rights{})", client, right == Right.ADMIN ? "admin" : "stats",
                    client.isOwner() ? ", peer: same OS user as pgloom" : "");
        }
        new ConsoleSession(this, client, right).run();
    }

    /** Runs one command text for a user with {@code right}: the one place where rights are checked. */
    Result execute(String query, Right right) throws ConsoleError {
        pooler.consoleStats().counted();
        Matcher m = CMD.matcher(query);
        if (m.matches()) {
            String word = unquote(m.group(1), '"');
            String arg = m.group(2) == null ? "" : unquote(m.group(2), '"');
            String verb = word.toUpperCase(Locale.ROOT);
            if (verb.equals("SHOW") || verb.equals("SELECT")) {
                String fake = FAKE_PARAMETERS.get(arg.toLowerCase(Locale.ROOT));
                if (fake != null) {
                    return Result.rows(arg.toLowerCase(Locale.ROOT) + ":s").row(fake);
                }
                return run(query, "SHOW " + arg.toUpperCase(Locale.ROOT), "", right);
            }
            return run(query, verb, arg, right);
        }
        Matcher set = SET_STRING.matcher(query);
        char quote = '\'';
        if (!set.matches()) {
            set = SET_WORD.matcher(query);
            quote = '"';
        }
        if (set.matches()) {
            String key = unquote(set.group(1), '"');
            if (FAKE_PARAMETERS.containsKey(key.toLowerCase(Locale.ROOT))) {
                return Result.tag("SET").notice("SET ignored", null);
            }
            return run(query, "SET", key + "=" + unquote(set.group(2), quote), right);
        }
        throw syntaxError(query);
    }

    private Result run(String query, String name, String arg, Right right) throws ConsoleError {
        Command c = COMMANDS.get(name);
        if (c == null || !argsFit(c.args(), arg)) {
            throw syntaxError(query);
        }
        if (!right.allows(c.right())) {
            throw new ConsoleError(SqlState.PROTOCOL_VIOLATION, "admin access needed");
        }
        return c.handler().run(pooler, arg);
    }

    private static boolean argsFit(Args args, String arg) {
        return switch (args) {
            case NONE -> arg.isEmpty();
            case OPTIONAL, REQUIRED -> true; // a missing required argument is the command's own error, after rights
            case SHUTDOWN_MODE -> arg.isEmpty() || arg.equalsIgnoreCase("WAIT_FOR_CLIENTS") || arg.equalsIgnoreCase("WAIT_FOR_SERVERS");
        };
    }

    /** True if the text is a command that only reads (SHOW, SELECT): safe to run when only described. */
    static boolean onlyReads(String query) {
        Matcher m = CMD.matcher(query);
        if (!m.matches()) {
            return false;
        }
        String word = unquote(m.group(1), '"').toUpperCase(Locale.ROOT);
        return word.equals("SHOW") || word.equals("SELECT");
    }

    private static ConsoleError syntaxError(String query) {
        return new ConsoleError(SqlState.PROTOCOL_VIOLATION, "invalid command '" + query + "', use SHOW HELP;");
    }

    private static String unquote(String word, char quote) {
        if (word.length() >= 2 && word.charAt(0) == quote) {
            String q = String.valueOf(quote);
            return word.substring(1, word.length() - 1).replace(q + q, q);
        }
        return word;
    }
}
