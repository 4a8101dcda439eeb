package io.pgloom.wire.protocol;

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
        MessageReader r = new MessageReader(b, off, off + len);
        int code = r.int32();
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
                return new Cancel(r.int32(), r.int32());
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
        while (true) {
            if (r.peek() == 0 && r.remaining() == 1) {
                break;
            }
            // Anything else but a name and value, each terminated, breaks the layout; so does a
            // NUL that is not the last byte (an empty name would end the list early).
            if (r.peek() <= 0) {
                throw badLayout();
            }
            String name = cstring(r);
            String value = cstring(r);
            if (name.startsWith("_pq_.")) {
                options.add(name);
            } else {
                params.put(name, value);
            }
        }
        String user = params.get("user");
        if (user == null || user.isEmpty()) {
            throw new ProtocolException(SqlState.INVALID_AUTHORIZATION, "no PostgreSQL user name specified in startup packet");
        }
        return new Startup(code & 0xffff, params, options);
    }

    private static String cstring(MessageReader r) throws ProtocolException {
        if (!r.hasCString()) {
            throw badLayout();
        }
        return r.cstring();
    }

    private static ProtocolException badLayout() {
        return new ProtocolException("invalid startup packet layout: expected terminator as last byte");
    }
}
