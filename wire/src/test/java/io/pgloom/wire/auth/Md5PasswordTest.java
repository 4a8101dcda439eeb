package io.pgloom.wire.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.config.ScramSecret;
import org.junit.jupiter.api.Test;

class Md5PasswordTest {
    private static final byte[] SALT = {1, 2, 3, 4};
    /** md5("postgres" + "postgres"), checked with Python's hashlib. */
    private static final String POSTGRES_HASH = "md53175bce1d3201d16594cebf9d7eb3f9d";
    /** "md5" + md5(hex part of POSTGRES_HASH + 01 02 03 04), checked with Python's hashlib. */
    private static final String POSTGRES_RESPONSE = "md568be9ed08db75f318087ab337aaea044";

    @Test
    void hashIsMd5OfPasswordThenUser() {
        assertEquals(POSTGRES_HASH, Md5Password.hash("postgres", "postgres"));
        assertFalse(Md5Password.hash("alice", "postgres").equals(POSTGRES_HASH));
    }

    @Test
    void responseIsMd5OfStoredHexThenSalt() {
        assertEquals(POSTGRES_RESPONSE, Md5Password.response(POSTGRES_HASH, SALT));
        assertFalse(Md5Password.response(POSTGRES_HASH, new byte[] {1, 2, 3, 5}).equals(POSTGRES_RESPONSE));
    }

    @Test
    void verifyAcceptsTheRightAnswerForAPlainSecret() {
        assertTrue(Md5Password.verify("postgres", "postgres", SALT, POSTGRES_RESPONSE));
    }

    @Test
    void verifyAcceptsTheRightAnswerForAnMd5Secret() {
        assertTrue(Md5Password.verify(POSTGRES_HASH, "postgres", SALT, POSTGRES_RESPONSE));
    }

    @Test
    void verifyRejectsWrongAnswers() {
        assertFalse(Md5Password.verify("postgres", "postgres", SALT, Md5Password.response(Md5Password.hash("postgres", "wrong"), SALT)));
        assertFalse(Md5Password.verify("postgres", "other", SALT, POSTGRES_RESPONSE)); // hash salted with the user
        assertFalse(Md5Password.verify(POSTGRES_HASH, "postgres", new byte[] {4, 3, 2, 1}, POSTGRES_RESPONSE));
        assertFalse(Md5Password.verify(POSTGRES_HASH, "postgres", SALT, POSTGRES_RESPONSE.toUpperCase()));
        assertFalse(Md5Password.verify(POSTGRES_HASH, "postgres", SALT, POSTGRES_RESPONSE.substring(0, 34)));
        assertFalse(Md5Password.verify(POSTGRES_HASH, "postgres", SALT, ""));
        assertFalse(Md5Password.verify(POSTGRES_HASH, "postgres", SALT, null));
        assertFalse(Md5Password.verify(null, "postgres", SALT, POSTGRES_RESPONSE));
        // A client that knows only the stored hash must not pass by sending it.
        assertFalse(Md5Password.verify(POSTGRES_HASH, "postgres", SALT, POSTGRES_HASH));
    }

    @Test
    void verifyNeverAcceptsAScramSecret() {
        String scram = ScramSecrets.fromPassword("postgres", new byte[16], 1).format();
        assertFalse(Md5Password.verify(scram, "postgres", SALT, POSTGRES_RESPONSE));
        assertFalse(Md5Password.verify(scram, "postgres", SALT, Md5Password.response(Md5Password.hash("postgres", scram), SALT)));
    }

    @Test
    void looksLikeMd5FollowsPostgresql() {
        assertTrue(Md5Password.looksLikeMd5(POSTGRES_HASH));
        assertTrue(Md5Password.looksLikeMd5("md5" + "0".repeat(32)));
        assertFalse(Md5Password.looksLikeMd5(POSTGRES_HASH.toUpperCase()));
        assertFalse(Md5Password.looksLikeMd5("md5" + "0".repeat(31)));
        assertFalse(Md5Password.looksLikeMd5("md5" + "0".repeat(33)));
        assertFalse(Md5Password.looksLikeMd5("md5" + "g".repeat(32)));
        assertFalse(Md5Password.looksLikeMd5(null));
    }

    @Test
    void aPlainPasswordThatLooksLikeAHashIsTakenAsAHash() {
        // Same rule as PostgreSQL and PgBouncer: "md5" + 32 hex digits is never a plain password.
        String lookalike = "md5" + "a".repeat(32);
        assertTrue(Md5Password.verify(lookalike, "bob", SALT, Md5Password.response(lookalike, SALT)));
    }

    @Test
    void responseRefusesWhatIsNotAnMd5SecretOrA4ByteSalt() {
        assertEquals(35, Md5Password.response("md5" + "0".repeat(32), new byte[4]).length());
        assertThrows(IllegalArgumentException.class, () -> Md5Password.response("postgres", SALT));
        assertThrows(IllegalArgumentException.class, () -> Md5Password.response(POSTGRES_HASH, new byte[3]));
        assertThrows(IllegalArgumentException.class, () -> Md5Password.verify(POSTGRES_HASH, "postgres", new byte[5], POSTGRES_RESPONSE));
    }
}
