package io.pgloom.wire.protocol;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The first message on a connection: it has no type byte, only a length and a request code. */
public sealed interface StartupRequest {
    int SSL_REQUEST = 80877103;
    int GSSENC_REQUEST = 80877104;
    int CANCEL_REQUEST = 80877102;
    int PROTOCOL_3 = 3 << 16;
    /** A startup packet longer than this is refused, as PostgreSQL does (its MAX_STARTUP_PACKET_LENGTH). */
    int MAX_LENGTH = 10000;

    record SslRequest() implements StartupRequest { }

    record GssEncRequest() implements StartupRequest { }

    record Cancel(int processId, int secretKey) implements StartupRequest { }

    /** A v3 StartupMessage; {@code minorVersion} above 0 asks for protocol 3.x (PostgreSQL 18+ clients). */
    record Startup(int minorVersion, Map<String, String> parameters, List<String> protocolOptions) implements StartupRequest {
        public String user() {
            return parameters.get("user");
        }

        public String database() {
            String db = parameters.get("database");
            return db == null || db.isEmpty() ? user() : db;
        }
    }

    /**
     * Decodes a startup-phase body (the bytes after the 4-byte length, starting with the code).
     */
    static StartupRequest decode(byte[] b, int off, int len) throws ProtocolException {
        if (len < 4) {
            throw new ProtocolException("invalid startup packet layout: too short");
        }
        int code = Bytes.int32(b, off);
        switch (code) {
            case SSL_REQUEST -> {
                return new SslRequest();
            }
            case GSSENC_REQUEST -> {
                return new GssEncRequest();
            }
            case CANCEL_REQUEST -> {
                if (len != 12) {
                    throw new ProtocolException("invalid length of cancel request: " + (len + 4));
                }
                return new Cancel(Bytes.int32(b, off + 4), Bytes.int32(b, off + 8));
            }
            default -> {
            }
        }
        if ((code >>> 16) != 3) {
            throw new ProtocolException(SqlState.FEATURE_NOT_SUPPORTED,
                    "unsupported frontend protocol " + (code >>> 16) + "." + (code & 0xffff)
                            + ": server supports 3.0 to 3.0");
        }
        Map<String, String> params = new LinkedHashMap<>();
        List<String> options = new ArrayList<>();
        int i = off + 4;
        int end = off + len;
        while (true) {
            if (i >= end) {
                throw new ProtocolException("invalid startup packet layout: expected terminator as last byte");
            }
            if (b[i] == 0) {
                if (i != end - 1) {
                    throw new ProtocolException("invalid startup packet layout: expected terminator as last byte");
                }
                break;
            }
            int nameEnd = indexOfNul(b, i, end);
            int valueEnd = nameEnd < 0 ? -1 : indexOfNul(b, nameEnd + 1, end);
            if (valueEnd < 0) {
                throw new ProtocolException("invalid startup packet layout: expected terminator as last byte");
            }
            String name = new String(b, i, nameEnd - i, StandardCharsets.UTF_8);
            String value = new String(b, nameEnd + 1, valueEnd - nameEnd - 1, StandardCharsets.UTF_8);
            if (name.startsWith("_pq_.")) {
                options.add(name);
            } else {
                params.put(name, value);
            }
            i = valueEnd + 1;
        }
        String user = params.get("user");
        if (user == null || user.isEmpty()) {
            throw new ProtocolException(SqlState.INVALID_AUTHORIZATION, "no PostgreSQL user name specified in startup packet");
        }
        return new Startup(code & 0xffff, params, options);
    }

    private static int indexOfNul(byte[] b, int from, int end) {
        for (int i = from; i < end; i++) {
            if (b[i] == 0) {
                return i;
            }
        }
        return -1;
    }
}
