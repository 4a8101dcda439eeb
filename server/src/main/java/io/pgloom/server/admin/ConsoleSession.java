package io.pgloom.server.admin;

import io.pgloom.server.admin.AdminConsole.ConsoleError;
import io.pgloom.server.admin.AdminConsole.Right;
import io.pgloom.server.frontend.ConsoleClient;
import io.pgloom.wire.protocol.Backend;
import io.pgloom.wire.protocol.Bytes;
import io.pgloom.wire.protocol.ErrorResponse;
import io.pgloom.wire.protocol.FrameReader;
import io.pgloom.wire.protocol.MessageBuilder;
import io.pgloom.wire.protocol.SqlState;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
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
            } catch (IndexOutOfBoundsException e) {
                // A message shorter than its own fields say: the client is broken, not the console.
                out.writeBytes(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION,
                        "malformed message '" + FrameReader.printable(m.type()) + "' on the admin console").encode());
                flush();
                return;
            }
        }
    }

    /** Answers one message; false when the session ends. */
    private boolean handle(char type, byte[] b) throws IOException {
        switch (type) {
                case 'Q' -> simpleQuery(cstring(b, 0));
                case 'P' -> parse(b);
                case 'B' -> bind(b);
                case 'D' -> describe(b);
                case 'E' -> execute(b);
                case 'C' -> close(b);
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

    private void parse(byte[] b) {
        String name = cstring(b, 0);
        int at = utf8Length(name) + 1;
        String query = cstring(b, at);
        statements.put(name, query);
        out.writeBytes(new MessageBuilder('1').build());
    }

    private void bind(byte[] b) {
        int at = 0;
        String portal = cstring(b, at);
        at += utf8Length(portal) + 1;
        String statement = cstring(b, at);
        at += utf8Length(statement) + 1;
        String query = statements.get(statement);
        if (query == null) {
            fail(new ConsoleError("26000", "prepared statement \"" + statement + "\" does not exist"));
            return;
        }
        int formats = Bytes.int16(b, at);
        at += 2 + 2 * formats;
        int params = Bytes.int16(b, at);
        at += 2;
        for (int i = 0; i < params; i++) {
            int len = Bytes.int32(b, at);
            at += 4 + Math.max(0, len);
        }
        int resultFormats = Bytes.int16(b, at);
        at += 2;
        short[] codes = new short[resultFormats];
        for (int i = 0; i < resultFormats; i++) {
            codes[i] = (short) Bytes.int16(b, at + 2 * i);
        }
        portals.put(portal, new Portal(query, codes));
        out.writeBytes(new MessageBuilder('2').build());
    }

    private void describe(byte[] b) {
        char kind = (char) b[0];
        String name = cstring(b, 1);
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
        return p;
    }

    private void execute(byte[] b) {
        String name = cstring(b, 0);
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

    private void close(byte[] b) {
        char kind = (char) b[0];
        String name = cstring(b, 1);
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

    private static String cstring(byte[] b, int from) {
        int end = from;
        while (end < b.length && b[end] != 0) {
            end++;
        }
        return new String(b, from, Math.max(0, end - from), StandardCharsets.UTF_8);
    }

    private static int utf8Length(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }
}
