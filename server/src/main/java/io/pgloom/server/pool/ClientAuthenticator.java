package io.pgloom.server.pool;

import io.pgloom.config.AuthType;
import io.pgloom.config.UserSecret;
import io.pgloom.server.auth.AuthFailure;
import io.pgloom.server.auth.Md5Password;
import io.pgloom.server.auth.ScramSecret;
import io.pgloom.server.auth.ScramServerExchange;
import io.pgloom.server.protocol.Backend;
import io.pgloom.server.protocol.Bytes;
import io.pgloom.server.protocol.FrameReader;
import io.pgloom.server.protocol.ProtocolException;
import io.pgloom.server.protocol.SqlState;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Authenticates one client against auth_file, by auth_type, on the client's thread.
 *
 * <p>An unknown user goes through the same exchange as a known one (against a secret nobody
 * knows) and gets the same error as a wrong password, so the answer does not reveal which user
 * names exist.
 */
final class ClientAuthenticator {
    private static final Logger log = LoggerFactory.getLogger(ClientAuthenticator.class);
    private static final SecureRandom RANDOM = io.pgloom.server.auth.Entropy.newGenerator();
    private static final int MAX_AUTH_MESSAGE = 8192;
    private static final byte[] MOCK_SECRET = new byte[32];

    static {
        RANDOM.nextBytes(MOCK_SECRET);
    }

    private final Pooler pooler;
    private final FrameReader reader;
    private final OutputStream out;
    private final String user;

    /** Keys a SCRAM login recovered, usable to log into the server without the password. */
    record Result(byte[] scramClientKey, byte[] scramServerKey) {
        static final Result NONE = new Result(null, null);
    }

    ClientAuthenticator(Pooler pooler, FrameReader reader, OutputStream out, String user) {
        this.pooler = pooler;
        this.reader = reader;
        this.out = out;
        this.user = user;
    }

    Result authenticate(AuthType type) throws IOException, PgloomError {
        Optional<UserSecret> secret = pooler.userSecret(user);
        switch (type) {
            case TRUST -> {
                if (secret.isEmpty() && pooler.hasAuthFile()) {
                    log.info("trust login refused for unknown user \"{}\"", user);
                    throw failed();
                }
                return Result.NONE;
            }
            case ANY -> {
                return Result.NONE;
            }
            case PLAIN -> {
                return plain(secret);
            }
            case MD5 -> {
                if (secret.isPresent() && secret.get().kind() == UserSecret.Kind.SCRAM) {
                    return scram(secret); // PgBouncer: an md5 setup still logs SCRAM secrets in with SCRAM
                }
                return md5(secret);
            }
            case SCRAM_SHA_256 -> {
                return scram(secret);
            }
            default -> throw PgloomError.fatal(SqlState.INVALID_AUTHORIZATION,
                    "auth_type " + type.configName() + " is not supported by pgloom yet");
        }
    }

    private PgloomError failed() {
        return PgloomError.fatal(SqlState.INVALID_PASSWORD, "password authentication failed for user \"" + user + "\"");
    }

    private byte[] readPasswordMessage() throws IOException {
        out.flush();
        FrameReader.Message m = reader.readMessage(MAX_AUTH_MESSAGE);
        if (m.type() != 'p') {
            throw new ProtocolException("expected password response, got message type " + (int) m.type());
        }
        return m.body();
    }

    private static String cstring(byte[] b) {
        int end = 0;
        while (end < b.length && b[end] != 0) {
            end++;
        }
        return new String(b, 0, end, StandardCharsets.UTF_8);
    }

    private Result plain(Optional<UserSecret> secret) throws IOException, PgloomError {
        out.write(Backend.authenticationCleartext());
        String given = cstring(readPasswordMessage());
        if (secret.isEmpty() || !matchesPlain(secret.get(), given)) {
            throw failed();
        }
        return Result.NONE;
    }

    private boolean matchesPlain(UserSecret s, String given) {
        return switch (s.kind()) {
            case PLAIN -> MessageDigest.isEqual(s.secret().getBytes(StandardCharsets.UTF_8), given.getBytes(StandardCharsets.UTF_8));
            case MD5 -> MessageDigest.isEqual(s.secret().getBytes(StandardCharsets.UTF_8),
                    Md5Password.hash(user, given).getBytes(StandardCharsets.UTF_8));
            case SCRAM -> {
                ScramSecret stored = ScramSecret.parse(s.secret());
                ScramSecret computed = ScramSecret.fromPassword(given, stored.salt(), stored.iterations());
                yield MessageDigest.isEqual(stored.storedKey(), computed.storedKey());
            }
        };
    }

    private Result md5(Optional<UserSecret> secret) throws IOException, PgloomError {
        byte[] salt = new byte[4];
        RANDOM.nextBytes(salt);
        out.write(Backend.authenticationMd5(salt));
        String response = cstring(readPasswordMessage());
        if (secret.isEmpty() || !Md5Password.verify(secret.get().secret(), user, salt, response)) {
            throw failed();
        }
        return Result.NONE;
    }

    private Result scram(Optional<UserSecret> secret) throws IOException, PgloomError {
        boolean known = secret.isPresent() && secret.get().kind() != UserSecret.Kind.MD5;
        ScramSecret stored = null;
        ScramServerExchange exchange;
        if (!known) {
            // An unknown user (or an md5 hash, which cannot do SCRAM) gets a mock exchange that looks
            // like a real one and always fails, so the answer does not reveal whether the user exists.
            exchange = ScramServerExchange.mock(user, MOCK_SECRET);
        } else {
            UserSecret s = secret.get();
            stored = pooler.scramSecret(s);
            exchange = new ScramServerExchange(user, stored);
        }
        out.write(Backend.authenticationSasl(ScramServerExchange.mechanisms()));
        byte[] initial = readPasswordMessage();
        String mechanism = cstring(initial);
        int at = mechanism.getBytes(StandardCharsets.UTF_8).length + 1;
        if (at + 4 > initial.length) {
            throw new ProtocolException("malformed SASLInitialResponse");
        }
        int len = Bytes.int32(initial, at);
        if (len < 0 || at + 4 + len > initial.length) {
            throw new ProtocolException("malformed SASLInitialResponse");
        }
        try {
            byte[] serverFirst = exchange.clientFirst(mechanism, Arrays.copyOfRange(initial, at + 4, at + 4 + len));
            out.write(Backend.authenticationSaslContinue(serverFirst));
            byte[] clientFinal = readPasswordMessage();
            byte[] serverFinal = exchange.clientFinal(clientFinal);
            if (!known) {
                throw failed();
            }
            out.write(Backend.authenticationSaslFinal(serverFinal));
            return new Result(exchange.clientKey(), stored.serverKey());
        } catch (AuthFailure e) {
            log.info("SCRAM login failed for user \"{}\": {}", user, e.getMessage());
            throw failed();
        }
    }
}
