package io.pgloom.config;

import static io.pgloom.config.TestFiles.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class UserListTest {

    @TempDir
    Path dir;

    @Test
    void readsPlainMd5AndScramUsers() throws Exception {
        String md5 = "md5" + HexFormat.of().formatHex(MessageDigest.getInstance("MD5")
                .digest("1234admin".getBytes(StandardCharsets.UTF_8)));
        assertEquals("md545f2603610af569b6155c45067268c6b", md5, "PgBouncer's documented example");
        String scram = scramSecret("secret", "c2FsdHNhbHRzYWx0", 4096);
        Map<String, UserSecret> users = load("""
                "alice" "plain password"
                "admin" "%s"
                "carol" "%s"
                """.formatted(md5, scram));

        assertEquals(List.of("alice", "admin", "carol"), List.copyOf(users.keySet()));
        assertEquals(UserSecret.Kind.PLAIN, users.get("alice").kind());
        assertEquals("plain password", users.get("alice").secret());
        assertEquals(UserSecret.Kind.MD5, users.get("admin").kind());
        assertEquals(UserSecret.Kind.SCRAM, users.get("carol").kind());
        ScramSecret parsed = users.get("carol").scram().orElseThrow();
        assertEquals(4096, parsed.iterations());
        assertArrayEquals(Base64.getDecoder().decode("c2FsdHNhbHRzYWx0"), parsed.salt());
        assertEquals(32, parsed.storedKey().length);
        assertEquals(Optional.empty(), users.get("alice").scram());
    }

    @Test
    void aDoubledQuoteInsideAFieldIsOneQuote() throws Exception {
        Map<String, UserSecret> users = load("\"say \"\"hi\"\"\" \"pa\"\"ss\"\n");
        assertEquals("pa\"ss", users.get("say \"hi\"").secret());
    }

    @Test
    void skipsCommentsBlankLinesAndTheRestOfALine() throws Exception {
        Map<String, UserSecret> users = load("""
                ; comment
                # comment too

                   "bob"   "pw"  ignored, as PgBouncer ignores it
                \t"eve"\t"" 
                """);
        assertEquals(List.of("bob", "eve"), List.copyOf(users.keySet()));
        assertEquals("pw", users.get("bob").secret());
        assertEquals("", users.get("eve").secret(), "an empty password is allowed");
    }

    @Test
    void aUserListedTwiceKeepsTheLastSecret() throws Exception {
        assertEquals("second", load("\"bob\" \"first\"\n\"bob\" \"second\"\n").get("bob").secret());
    }

    @Test
    void acceptsTheSmallestWellFormedFiles() throws Exception {
        assertEquals(Map.of(), load(""));
        assertEquals("", load("\"\" \"\"").get("").secret());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            bob "pw"             | expected a user name in double quotes
            "bob                 | the user name has no closing double quote
            "bob"                | expected the password of user 'bob' in double quotes after the user name
            "bob" pw             | expected the password of user 'bob' in double quotes after the user name
            "bob" "pw            | the password of user 'bob' has no closing double quote
            """)
    void refusesAMalformedLineWithFileAndLine(String line, String message) {
        write(dir, "userlist.txt", "\"alice\" \"ok\"\n; fine\n" + line + "\n");
        var e = assertThrows(ConfigException.class, () -> UserList.load(dir.resolve("userlist.txt")));
        assertEquals(dir.resolve("userlist.txt") + ":3: " + message, e.getMessage());
        assertEquals(dir.resolve("userlist.txt") + ":3", e.location());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            SCRAM-SHA-256$4096:c2FsdA==$AAAA:AAAA                       | StoredKey and ServerKey must be 32 bytes each
            SCRAM-SHA-256$many:c2FsdA==$%1$s:%1$s                       | the iteration count is not a number
            SCRAM-SHA-256$0:c2FsdA==$%1$s:%1$s                          | the iteration count must be positive
            SCRAM-SHA-256$4096:!!!$%1$s:%1$s                            | the salt is not valid base64
            SCRAM-SHA-256$4096:c2FsdA==                                 | expected <iterations>:<salt>$<StoredKey>:<ServerKey>
            """)
    void refusesADamagedScramSecretInsteadOfTakingItAsAPassword(String secret, String reason) {
        String key = Base64.getEncoder().encodeToString(new byte[32]);
        write(dir, "userlist.txt", "\"carol\" \"" + secret.formatted(key) + "\"\n");
        var e = assertThrows(ConfigException.class, () -> UserList.load(dir.resolve("userlist.txt")));
        assertEquals(dir.resolve("userlist.txt") + ":1: the SCRAM secret of user 'carol' is malformed: " + reason,
                e.getMessage());
    }

    @Test
    void classifiesLikePgBouncer() {
        assertEquals(UserSecret.Kind.MD5, new UserSecret("u", "md5" + "0".repeat(32)).kind());
        assertEquals(UserSecret.Kind.MD5, new UserSecret("u", "md5" + "z".repeat(32)).kind(),
                "PgBouncer checks the prefix and the length only");
        assertEquals(UserSecret.Kind.PLAIN, new UserSecret("u", "md5" + "0".repeat(31)).kind());
        assertEquals(UserSecret.Kind.PLAIN, new UserSecret("u", "SCRAM-SHA-256$broken").kind());
        assertEquals(UserSecret.Kind.PLAIN, new UserSecret("u", "").kind());
    }

    @Test
    void keepsSecretsOutOfToString() throws Exception {
        String scram = scramSecret("pw", "c2FsdA==", 4096);
        assertFalse(new UserSecret("bob", "hunter2").toString().contains("hunter2"));
        assertFalse(new UserSecret("bob", scram).toString().contains(scram.substring(20, 40)));
        assertTrue(new UserSecret("bob", scram).toString().contains("SCRAM"));
    }

    @Test
    void refusesAMissingFile() {
        var e = assertThrows(ConfigException.class, () -> UserList.load(dir.resolve("absent.txt")));
        assertEquals(dir.resolve("absent.txt") + ": no such file", e.getMessage());
    }

    private Map<String, UserSecret> load(String text) throws ConfigException {
        return UserList.load(write(dir, "userlist.txt", text));
    }

    /** A secret as PostgreSQL stores it (RFC 5802 / 5803). */
    static String scramSecret(String password, String saltBase64, int iterations) throws Exception {
        byte[] salt = Base64.getDecoder().decode(saltBase64);
        byte[] salted = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256")
                .generateSecret(new PBEKeySpec(password.toCharArray(), salt, iterations, 256)).getEncoded();
        byte[] storedKey = MessageDigest.getInstance("SHA-256").digest(hmac(salted, "Client Key"));
        byte[] serverKey = hmac(salted, "Server Key");
        var b64 = Base64.getEncoder();
        return "SCRAM-SHA-256$" + iterations + ":" + saltBase64 + "$" + b64.encodeToString(storedKey) + ":"
                + b64.encodeToString(serverKey);
    }

    private static byte[] hmac(byte[] key, String message) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        return mac.doFinal(message.getBytes(StandardCharsets.UTF_8));
    }
}
