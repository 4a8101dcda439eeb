package io.pgloom.wire.backend;

import io.pgloom.wire.auth.AuthFailure;
import io.pgloom.wire.auth.Md5Password;
import io.pgloom.wire.auth.ScramClientExchange;
import io.pgloom.wire.protocol.AuthCode;
import io.pgloom.wire.protocol.ErrorResponse;
import io.pgloom.wire.protocol.FrameReader;
import io.pgloom.wire.protocol.MessageBuilder;
import io.pgloom.wire.protocol.MessageReader;
import io.pgloom.wire.protocol.ParameterStatus;
import io.pgloom.wire.protocol.PgloomError;
import io.pgloom.wire.protocol.SqlState;
import io.pgloom.wire.protocol.StartupRequest;
import java.io.IOException;
import java.io.OutputStream;
import java.util.HashMap;
import java.util.Map;

/**
 * pgloom's side of one login to a PostgreSQL server: the startup packet, the authentication the
 * server asks for (cleartext, md5, SCRAM-SHA-256 with a password or with a client's recovered
 * keys), then ParameterStatus and BackendKeyData until ReadyForQuery.
 *
 * <p>Threading: single use, on the thread that logs in.
 *
 * <p>The server's own ErrorResponse becomes a {@link PgloomError} carrying it whole, so the client
 * sees PostgreSQL's message and SQLSTATE unchanged; what pgloom itself cannot do (no usable
 * secret, an unsupported method) is a FATAL of pgloom's; a broken protocol is an IOException.
 */
final class LoginExchange {
    /** Login messages are small; anything larger is a confused peer, not a server. */
    private static final int MAX_MESSAGE = 1 << 20;

    private final FrameReader reader;
    private final OutputStream out;
    private final ServerCredentials credentials;
    final Map<String, String> parameters = new HashMap<>();
    int processId;
    int secretKey;
    char transactionStatus = 'I';
    private ScramClientExchange scram;

    LoginExchange(FrameReader reader, OutputStream out, ServerCredentials credentials) {
        this.reader = reader;
        this.out = out;
        this.credentials = credentials;
    }

    /** Runs the login to its ReadyForQuery. */
    void run(String database, Map<String, String> startupParameters) throws IOException, PgloomError {
        try {
            exchange(database, startupParameters);
        } catch (AuthFailure e) {
            throw PgloomError.fatal(SqlState.INVALID_PASSWORD, "pgloom could not log into the server as \""
                    + credentials.user() + "\": " + e.getMessage());
        }
    }

    private void exchange(String database, Map<String, String> startupParameters) throws IOException, PgloomError, AuthFailure {
        MessageBuilder startup = new MessageBuilder().int32(StartupRequest.PROTOCOL_3)
                .cstring("user").cstring(credentials.user())
                .cstring("database").cstring(database);
        startupParameters.forEach((k, v) -> startup.cstring(k).cstring(v));
        send(startup.byte1(0).build());
        while (true) {
            FrameReader.Message m = reader.readMessage(MAX_MESSAGE);
            byte[] b = m.body();
            switch (m.type()) {
                case 'R' -> authenticate(new MessageReader(b));
                case 'S' -> {
                    ParameterStatus p = ParameterStatus.decode(b, 0, b.length);
                    parameters.put(p.name(), p.value());
                }
                case 'K' -> {
                    // Protocol 3.2 allows a longer secret; its first four bytes are what 3.0 knows.
                    if (b.length >= 8) {
                        MessageReader r = new MessageReader(b);
                        processId = r.int32();
                        secretKey = r.int32();
                    }
                }
                case 'E' -> throw new PgloomError(ErrorResponse.decode(b, 0, b.length));
                case 'N', 'v' -> { }
                case 'Z' -> {
                    if (b.length > 0) {
                        transactionStatus = (char) (b[0] & 0xff);
                    }
                    return;
                }
                default -> throw new IOException("unexpected message '" + FrameReader.printable(m.type()) + "' during server login");
            }
        }
    }

    /** One Authentication ('R') request: answers it, or (OK) notes that the server accepted us. */
    private void authenticate(MessageReader r) throws IOException, PgloomError, AuthFailure {
        if (r.remaining() < 4) {
            throw new IOException("malformed authentication request from server");
        }
        int code = r.int32();
        switch (AuthCode.of(code)) {
            case OK -> { }
            case CLEARTEXT_PASSWORD -> sendPassword(requirePlain("password"));
            case MD5_PASSWORD -> {
                if (r.remaining() < 4) {
                    throw new IOException("malformed md5 request from server");
                }
                byte[] salt = r.bytes(4);
                String hash = credentials.md5Hash() != null ? credentials.md5Hash()
                        : credentials.password() != null ? Md5Password.hash(credentials.user(), credentials.password())
                        : null;
                if (hash == null) {
                    throw noCredentials("md5");
                }
                sendPassword(Md5Password.response(hash, salt));
            }
            case SASL -> {
                if (credentials.password() != null) {
                    scram = new ScramClientExchange(credentials.password());
                } else if (credentials.hasScramKeys()) {
                    scram = ScramClientExchange.withKeys(credentials.scramClientKey(), credentials.scramServerKey());
                } else {
                    throw noCredentials("scram-sha-256");
                }
                byte[] first = scram.clientFirstMessage();
                send(new MessageBuilder('p').cstring("SCRAM-SHA-256").int32(first.length).bytes(first).build());
            }
            case SASL_CONTINUE -> {
                if (scram == null) {
                    throw new IOException("server sent SASLContinue without SASL");
                }
                send(new MessageBuilder('p').bytes(scram.clientFinalMessage(r.rest())).build());
            }
            case SASL_FINAL -> {
                if (scram == null) {
                    throw new IOException("server sent SASLFinal without SASL");
                }
                scram.verifyServerFinal(r.rest());
            }
            case null -> throw PgloomError.fatal(SqlState.FEATURE_NOT_SUPPORTED,
                    "server asked for an authentication method pgloom does not support (code " + code + ")");
        }
    }

    private PgloomError noCredentials(String method) {
        return PgloomError.fatal(SqlState.INVALID_PASSWORD,
                "wrong password type: pgloom has no password for user \"" + credentials.user() + "\" that " + method
                        + " authentication to the server can use (set password= in [databases] or a plain/md5 secret in auth_file)");
    }

    private String requirePlain(String method) throws PgloomError {
        if (credentials.password() == null) {
            throw noCredentials(method);
        }
        return credentials.password();
    }

    private void sendPassword(String password) throws IOException {
        send(new MessageBuilder('p').cstring(password).build());
    }

    private void send(byte[] message) throws IOException {
        out.write(message);
        out.flush();
    }
}
