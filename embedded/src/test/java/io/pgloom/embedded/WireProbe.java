package io.pgloom.embedded;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Just enough of the PostgreSQL v3 frontend protocol to see that a server answers: a
 * StartupMessage, the first authentication request, ReadyForQuery, a simple Query. The embedded
 * module depends on no other pgloom module (not even wire's codec) and has no JDBC driver, so the
 * probe speaks these few messages itself, with its own constants; it checks the bytes themselves
 * anyway.
 */
final class WireProbe implements AutoCloseable {

    static final int PROTOCOL_3_0 = 196608;
    static final int AUTH_OK = 0;
    static final int AUTH_CLEARTEXT = 3;
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

    /**
     * Answers the authentication exchange with {@code password}: cleartext, MD5 or SCRAM-SHA-256
     * (without channel binding), up to AuthenticationOk. An ErrorResponse (wrong password) fails.
     */
    void authenticate(String user, String password) throws IOException {
        Message m = authenticationRequest();
        switch (m.int32(0)) {
            case AUTH_OK -> {
                return;
            }
            case AUTH_CLEARTEXT -> sendPassword(password);
            case AUTH_MD5 -> {
                byte[] salt = Arrays.copyOfRange(m.body(), 4, 8);
                String inner = hex(md5(concat(utf8(password), utf8(user))));
                sendPassword("md5" + hex(md5(concat(utf8(inner), salt))));
            }
            case AUTH_SASL -> scram(password);
            default -> throw new IOException("unsupported authentication request " + m.int32(0));
        }
        Message last = read();
        if (last.type() != 'R' || last.int32(0) != AUTH_OK) {
            throw new IOException("authentication failed: '" + last.type() + "' " + last.text());
        }
    }

    private void scram(String password) throws IOException {
        byte[] random = new byte[18];
        new SecureRandom().nextBytes(random);
        String clientNonce = Base64.getEncoder().encodeToString(random);
        String clientFirstBare = "n=,r=" + clientNonce; // the server takes the user from the startup
        byte[] clientFirst = utf8("n,," + clientFirstBare);
        ByteArrayOutputStream initial = new ByteArrayOutputStream();
        initial.writeBytes(utf8("SCRAM-SHA-256"));
        initial.write(0);
        initial.writeBytes(ByteBuffer.allocate(4).putInt(clientFirst.length).array());
        initial.writeBytes(clientFirst);
        send('p', initial.toByteArray());

        Message continued = read();
        if (continued.type() != 'R' || continued.int32(0) != 11) {
            throw new IOException("expected SASLContinue, got '" + continued.type() + "' " + continued.text());
        }
        String serverFirst = new String(continued.body(), 4, continued.body().length - 4, StandardCharsets.UTF_8);
        Map<String, String> attrs = new HashMap<>();
        for (String part : serverFirst.split(",")) {
            attrs.put(part.substring(0, 1), part.substring(2));
        }
        String nonce = attrs.get("r");
        byte[] salt = Base64.getDecoder().decode(attrs.get("s"));
        int iterations = Integer.parseInt(attrs.get("i"));
        String clientFinalWithoutProof = "c=biws,r=" + nonce;
        String authMessage = clientFirstBare + "," + serverFirst + "," + clientFinalWithoutProof;
        try {
            var pbkdf2 = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256");
            byte[] salted = pbkdf2.generateSecret(new PBEKeySpec(
                    password.toCharArray(), salt, iterations, 256)).getEncoded();
            byte[] clientKey = hmac(salted, "Client Key");
            byte[] storedKey = MessageDigest.getInstance("SHA-256").digest(clientKey);
            byte[] signature = hmac(storedKey, authMessage);
            byte[] proof = new byte[clientKey.length];
            for (int i = 0; i < proof.length; i++) {
                proof[i] = (byte) (clientKey[i] ^ signature[i]);
            }
            send('p', utf8(clientFinalWithoutProof + ",p=" + Base64.getEncoder().encodeToString(proof)));
        } catch (GeneralSecurityException e) {
            throw new IOException(e);
        }
        Message fin = read();
        if (fin.type() != 'R' || fin.int32(0) != 12) {
            throw new IOException("expected SASLFinal, got '" + fin.type() + "' " + fin.text());
        }
    }

    private static byte[] hmac(byte[] key, String data) throws GeneralSecurityException {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        return mac.doFinal(utf8(data));
    }

    private void sendPassword(String password) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(utf8(password));
        body.write(0);
        send('p', body.toByteArray());
    }

    private void send(char type, byte[] body) throws IOException {
        out.writeByte(type);
        out.writeInt(4 + body.length);
        out.write(body);
        out.flush();
    }

    private static byte[] md5(byte[] data) {
        try {
            return MessageDigest.getInstance("MD5").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(bytes);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
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
            } catch (EOFException | SocketException e) {
                return said;
            }
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
