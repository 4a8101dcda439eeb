package io.pgloom.server.admin;

import io.pgloom.server.admin.AdminConsole.ConsoleError;
import io.pgloom.server.admin.AdminConsole.Right;
import io.pgloom.server.frontend.ConsoleClient;
import io.pgloom.wire.protocol.Backend;
import io.pgloom.wire.protocol.ErrorResponse;
import io.pgloom.wire.protocol.FrameReader;
import io.pgloom.wire.protocol.MessageBuilder;
import io.pgloom.wire.protocol.MessageReader;
import io.pgloom.wire.protocol.ProtocolException;
import io.pgloom.wire.protocol.SqlState;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * One admin console client after login: reads its messages on its own thread and answers them.
 *
 * <p>Both query protocols work. A simple Query runs one command. The extended protocol (what
 * pgjdbc sends) works as with a server: Parse keeps the text, Bind makes a portal, Describe and
 * Execute run it (once, whichever comes first; a statement Describe runs only a read-only
 * command), Sync ends the request, and after an error everything up to the Sync is skipped.
 * PgBouncer itself refuses the extended protocol on its console; pgloom's answers are the same
 * columns either way.
 */
final class ConsoleSession {
    private static final int MAX_MESSAGE = 1 << 20;

    private final AdminConsole console;
    private final ConsoleClient client;
    private final Right right;
    private final FrameReader reader;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream(1024);
    private final Map<String, String> statements = new HashMap<>();
    private final Map<String, Portal> portals = new HashMap<>();
    /** An error in an extended-protocol request: skip to its Sync. */
    private boolean skipping;
    /** A command's action due once its reply is sent (SHUTDOWN). */
    private Runnable afterReply;

    /** A bound statement and, once run, its result. */
    private static final class Portal {
        final String query;
        final short[] resultFormats;
        Result result;
        ConsoleError error;

        Portal(String query, short[] resultFormats) {
            this.query = query;
            this.resultFormats = resultFormats;
        }
    }

    ConsoleSession(AdminConsole console, ConsoleClient client, Right right) {
        this.console = console;
        this.client = client;
        this.right = right;
        this.reader = client.reader();
    }

    void run() throws IOException {
        while (true) {
            if (reader.available() == 0) {
                flush(); // nothing more buffered: answer before blocking in read
            }
            FrameReader.Message m;
            try {
                m = reader.readMessage(MAX_MESSAGE);
            } catch (EOFException e) {
                return;
            }
            client.requested();
            byte[] b = m.body();
            if (skipping && m.type() != 'S' && m.type() != 'X') {
                continue;
            }
            try {
                boolean goOn = handle(m.type(), b);
                if (afterReply != null) {
                    Runnable action = afterReply;
                    afterReply = null;
                    flush();
                    action.run();
                }
                if (!goOn) {
                    return;
                }
            } catch (ProtocolException e) {
                // A message shorter than its own fields say: the client is broken, not the console.
                // As PostgreSQL does for a malformed message, the client is told and let go.
                out.writeBytes(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION, "malformed message '"
                        + FrameReader.printable(m.type()) + "' on the admin console: " + e.getMessage()).encode());
                flush();
                return;
            }
        }
    }

    /** Answers one message; false when the session ends. */
    private boolean handle(char type, byte[] body) throws IOException {
        MessageReader message = new MessageReader(body);
        switch (type) {
                case 'Q' -> simpleQuery(message.cstring());
                case 'P' -> parse(message);
                case 'B' -> bind(message);
                case 'D' -> describe(message);
                case 'E' -> execute(message);
                case 'C' -> close(message);
                case 'S' -> {
                    skipping = false;
                    portals.remove("");
                    out.writeBytes(Backend.readyForQuery('I'));
                }
                case 'H' -> flush();
                case 'X' -> {
                    flush();
                    return false;
                }
                default -> {
                    out.writeBytes(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION,
                            "unsupported packet type for admin console: " + (int) type).encode());
                    flush();
                    return false;
                }
        }
        return true;
    }

    private void flush() throws IOException {
        if (out.size() > 0) {
            client.write(out.toByteArray());
            out.reset();
        }
    }

    private void simpleQuery(String query) {
        try {
            Result r = console.execute(query, right);
            afterReply = r.afterReply();
            if (r.hasRows()) {
                out.writeBytes(r.rowDescription(null));
            }
            out.writeBytes(r.body(null));
        } catch (ConsoleError e) {
            error(e);
        }
        out.writeBytes(Backend.readyForQuery('I'));
    }

    private void error(ConsoleError e) {
        ErrorResponse error = ErrorResponse.error(e.sqlState, e.getMessage());
        client.poolerError(error);
        out.writeBytes(error.encode());
    }

    private void parse(MessageReader message) throws ProtocolException {
        String name = message.cstring();
        String query = message.cstring();
        statements.put(name, query);
        out.writeBytes(new MessageBuilder('1').build());
    }

    private void bind(MessageReader message) throws ProtocolException {
        String portal = message.cstring();
        String statement = message.cstring();
        String query = statements.get(statement);
        if (query == null) {
            fail(new ConsoleError("26000", "prepared statement \"" + statement + "\" does not exist"));
            return;
        }
        // The console's commands take no parameters: their formats and values are only stepped over.
        message.skip(2 * message.int16());
        int params = message.int16();
        for (int i = 0; i < params; i++) {
            int len = message.int32();
            if (len != -1) { // -1 is NULL, with no bytes
                message.skip(len);
            }
        }
        int resultFormats = message.int16();
        short[] codes = new short[resultFormats];
        for (int i = 0; i < resultFormats; i++) {
            codes[i] = (short) message.int16();
        }
        portals.put(portal, new Portal(query, codes));
        out.writeBytes(new MessageBuilder('2').build());
    }

    private void describe(MessageReader message) throws ProtocolException {
        char kind = (char) message.byte1();
        String name = message.cstring();
        if (kind == 'S') {
            String query = statements.get(name);
            if (query == null) {
                fail(new ConsoleError("26000", "prepared statement \"" + name + "\" does not exist"));
                return;
            }
            out.writeBytes(new MessageBuilder('t').int16(0).build());
            Result r = null;
            if (AdminConsole.onlyReads(query)) {
                try {
                    r = console.execute(query, right);
                } catch (ConsoleError e) {
                    r = null; // the Execute will report it
                }
            }
            out.writeBytes(r != null && r.hasRows() ? r.rowDescription(null) : new MessageBuilder('n').build());
            return;
        }
        Portal p = ranPortal(name);
        if (p == null) {
            return;
        }
        out.writeBytes(p.result.hasRows() ? p.result.rowDescription(binary(p)) : new MessageBuilder('n').build());
    }

    /** The named portal, run if it has not been yet; null (with the error sent) if it is missing or failed. */
    private Portal ranPortal(String name) {
        Portal p = portals.get(name);
        if (p == null) {
            fail(new ConsoleError("34000", "portal \"" + name + "\" does not exist"));
            return null;
        }
        runOnce(p);
        if (p.error != null) {
            fail(p.error);
            return null;
        }
        int columns = p.result.hasRows() ? p.result.columns().size() : 0;
        if (p.resultFormats.length > 1 && p.resultFormats.length < columns) {
            // Fewer codes than columns leave some columns without a format: PostgreSQL's error.
            fail(new ConsoleError(SqlState.PROTOCOL_VIOLATION, "bind message has " + p.resultFormats.length
                    + " result formats but query has " + columns + " columns"));
            return null;
        }
        return p;
    }

    private void execute(MessageReader message) throws ProtocolException {
        String name = message.cstring();
        Portal p = ranPortal(name);
        if (p == null) {
            return;
        }
        out.writeBytes(p.result.body(binary(p)));
        p.result = Result.tag(p.result.tag()); // a second Execute of the portal has no more rows
    }

    private void runOnce(Portal p) {
        if (p.result == null && p.error == null) {
            try {
                p.result = console.execute(p.query, right);
                afterReply = p.result.afterReply();
            } catch (ConsoleError e) {
                p.error = e;
            }
        }
    }

    /** Which columns the Bind asked in binary: none, one code for all, or one per column. */
    private static boolean[] binary(Portal p) {
        if (!p.result.hasRows()) {
            return null;
        }
        int n = p.result.columns().size();
        boolean[] binary = new boolean[n];
        for (int i = 0; i < n; i++) {
            short code = p.resultFormats.length == 0 ? 0 : p.resultFormats.length == 1 ? p.resultFormats[0] : p.resultFormats[i];
            binary[i] = code == 1;
        }
        return binary;
    }

    private void close(MessageReader message) throws ProtocolException {
        char kind = (char) message.byte1();
        String name = message.cstring();
        if (kind == 'S') {
            statements.remove(name);
        } else {
            portals.remove(name);
        }
        out.writeBytes(new MessageBuilder('3').build());
    }

    private void fail(ConsoleError e) {
        error(e);
        skipping = true;
    }
}
