package io.pgloom.failover;

import io.pgloom.wire.backend.BackendConnection;
import io.pgloom.wire.protocol.ErrorResponse;
import io.pgloom.wire.protocol.FrameReader;
import io.pgloom.wire.protocol.Frontend;
import io.pgloom.wire.protocol.MessageReader;
import io.pgloom.wire.protocol.ProtocolException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One simple-protocol query of the failover module's own on a logged-in connection, read to its
 * ReadyForQuery: the probe's status query, pg_promote, repointing a standby.
 *
 * <p>Threading: on the thread that holds the connection.
 */
final class SimpleQuery {
    private static final int MAX_MESSAGE = 1 << 20;

    private SimpleQuery() {
    }

    /** The rows as text (SQL NULL as null). Throws with the server's message if it answered with an error. */
    static List<String[]> run(BackendConnection c, String sql) throws IOException {
        c.out().write(Frontend.query(sql));
        c.out().flush();
        List<String[]> rows = new ArrayList<>();
        ErrorResponse error = null;
        FrameReader reader = c.reader();
        while (true) {
            FrameReader.Message m = reader.readMessage(MAX_MESSAGE);
            switch (m.type()) {
                case 'D' -> rows.add(dataRow(m.body()));
                case 'E' -> {
                    if (error == null) {
                        error = ErrorResponse.decode(m.body(), 0, m.body().length);
                    }
                }
                case 'Z' -> {
                    if (error != null) {
                        throw new IOException(error.severity() + ": " + error.message() + " (SQLSTATE " + error.sqlState() + ")");
                    }
                    return rows;
                }
                default -> {
                    // RowDescription, CommandComplete, notices, parameter reports: nothing to keep.
                }
            }
        }
    }

    private static String[] dataRow(byte[] body) throws IOException {
        try {
            MessageReader r = new MessageReader(body);
            int n = r.int16();
            String[] row = new String[n];
            for (int i = 0; i < n; i++) {
                int len = r.int32();
                row[i] = len < 0 ? null : new String(r.bytes(len), StandardCharsets.UTF_8);
            }
            return row;
        } catch (ProtocolException e) {
            throw new IOException("malformed DataRow: " + e.getMessage(), e);
        }
    }
}
