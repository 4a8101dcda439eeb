package io.pgloom.server.embedded;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Just enough of the PostgreSQL v3 frontend protocol to see that a server answers: a
 * StartupMessage, the first authentication request, ReadyForQuery, a simple Query. The server
 * module has no JDBC driver, and this checks the bytes themselves anyway.
 */
final class WireProbe implements AutoCloseable {

    static final int PROTOCOL_3_0 = 196608;
    static final int AUTH_OK = 0;
    static final int AUTH_MD5 = 5;
    static final int AUTH_SASL = 10;

    /** One backend message: its type byte and its body (without type and length). */
    record Message(char type, byte[] body) {
        int int32(int offset) {
            return ByteBuffer.wrap(body, offset, 4).getInt();
        }

        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;

    private WireProbe(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new DataInputStream(socket.getInputStream());
        this.out = new DataOutputStream(socket.getOutputStream());
    }

    /** Connects and sends the StartupMessage. */
    static WireProbe startup(String host, int port, String user, String database) throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress(host, port), 5_000);
        socket.setSoTimeout(15_000);
        WireProbe probe = new WireProbe(socket);
        ByteArrayOutputStream params = new ByteArrayOutputStream();
        for (String s : List.of("user", user, "database", database)) {
            params.writeBytes(s.getBytes(StandardCharsets.UTF_8));
            params.write(0);
        }
        params.write(0);
        probe.out.writeInt(4 + 4 + params.size());
        probe.out.writeInt(PROTOCOL_3_0);
        probe.out.write(params.toByteArray());
        probe.out.flush();
        return probe;
    }

    Message read() throws IOException {
        char type = (char) in.readUnsignedByte();
        int length = in.readInt();
        if (length < 4 || length > 1 << 20) {
            throw new IOException("implausible message length " + length + " for type " + type);
        }
        byte[] body = new byte[length - 4];
        in.readFully(body);
        return new Message(type, body);
    }

    /** The first reply must be an AuthenticationRequest; returns its code (0 = ok). */
    Message authenticationRequest() throws IOException {
        Message m = read();
        if (m.type() != 'R') {
            throw new IOException("expected AuthenticationRequest, got '" + m.type() + "': " + m.text());
        }
        return m;
    }

    /** Reads up to ReadyForQuery, failing on an ErrorResponse. */
    void awaitReady() throws IOException {
        while (true) {
            Message m = read();
            switch (m.type()) {
                case 'Z' -> {
                    return;
                }
                case 'E' -> throw new IOException("server error: " + m.text());
                default -> { } // AuthenticationOk, ParameterStatus, BackendKeyData...
            }
        }
    }

    /** A simple Query; returns its DataRows' text values. */
    List<List<String>> query(String sql) throws IOException {
        byte[] text = sql.getBytes(StandardCharsets.UTF_8);
        out.writeByte('Q');
        out.writeInt(4 + text.length + 1);
        out.write(text);
        out.writeByte(0);
        out.flush();
        List<List<String>> rows = new ArrayList<>();
        IOException error = null;
        while (true) {
            Message m = read();
            switch (m.type()) {
                case 'D' -> rows.add(dataRow(m));
                case 'E' -> error = new IOException("server error: " + m.text());
                case 'Z' -> {
                    if (error != null) {
                        throw error;
                    }
                    return rows;
                }
                default -> { } // RowDescription, CommandComplete, NoticeResponse...
            }
        }
    }

    private static List<String> dataRow(Message m) {
        ByteBuffer b = ByteBuffer.wrap(m.body());
        int columns = Short.toUnsignedInt(b.getShort());
        List<String> values = new ArrayList<>(columns);
        for (int i = 0; i < columns; i++) {
            int length = b.getInt();
            if (length < 0) {
                values.add(null);
            } else {
                byte[] v = new byte[length];
                b.get(v);
                values.add(new String(v, StandardCharsets.UTF_8));
            }
        }
        return values;
    }

    /**
     * Reads until the server closes the connection (EOF or reset) and returns what it said before:
     * a fast shutdown sends FATAL 57P01, a killed server nothing. Fails on the read timeout.
     */
    List<Message> readUntilClosed() throws IOException {
        List<Message> said = new ArrayList<>();
        while (true) {
            try {
                said.add(read());
            } catch (java.io.EOFException | java.net.SocketException e) {
                return said;
            }
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
