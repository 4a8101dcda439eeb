package io.pgloom.wire.auth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.config.ScramSecret;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ScramSecretTest {
    private static final byte[] SALT_0_TO_15 = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    /** Computed independently (Python hashlib.pbkdf2_hmac + hmac) for password "secret". */
    private static final String SECRET_FOR_SECRET = "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw=="
            + "$THoPhoTAuqyoQsK4dUHncUzgfD8fdmhsgKZhWVqNP5U=:7YiHMMi2OcXGRogub03Ek06JRZ9bkhTOdCzHa5iPLiQ=";
    /** RFC 7677's user: password "pencil" with the example's salt. */
    private static final String SECRET_FOR_PENCIL = "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ=="
            + "$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=";
    /** The smallest well-formed secret: one iteration, one salt byte. */
    private static final String SMALLEST = "SCRAM-SHA-256$1:AA==$"
            + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

    @Test
    void fromPasswordMatchesAnIndependentComputation() {
        ScramSecret secret = ScramSecrets.fromPassword("secret", SALT_0_TO_15, 4096);
        assertEquals(SECRET_FOR_SECRET, secret.format());
        assertEquals(SECRET_FOR_PENCIL,
                ScramSecrets.fromPassword("pencil", Base64.getDecoder().decode("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096).format());
    }

    @Test
    void formatAndParseRoundTrip() {
        ScramSecret secret = ScramSecrets.fromPassword("secret", SALT_0_TO_15, 4096);
        ScramSecret parsed = ScramSecret.parseOrExplain(secret.format());
        assertEquals(secret, parsed);
        assertEquals(secret.hashCode(), parsed.hashCode());
        assertEquals(4096, parsed.iterations());
        assertArrayEquals(SALT_0_TO_15, parsed.salt());
        assertEquals(SECRET_FOR_SECRET, parsed.format());
    }

    @Test
    void fromPasswordAppliesSaslPrep() {
        assertEquals(ScramSecrets.fromPassword("IX", SALT_0_TO_15, 1), ScramSecrets.fromPassword("\u2168", SALT_0_TO_15, 1));
        assertNotEquals(ScramSecrets.fromPassword("IX", SALT_0_TO_15, 1), ScramSecrets.fromPassword("ix", SALT_0_TO_15, 1));
    }

    @Test
    void fromPasswordWithDefaultsUsesAFreshSalt() {
        ScramSecret a = ScramSecrets.fromPassword("secret");
        ScramSecret b = ScramSecrets.fromPassword("secret");
        assertEquals(4096, a.iterations());
        assertEquals(16, a.salt().length);
        assertNotEquals(a, b);
    }

    @Test
    void acceptsTheSmallestWellFormedSecret() {
        assertTrue(ScramSecret.parse(SMALLEST).isPresent());
        ScramSecret secret = ScramSecret.parseOrExplain(SMALLEST);
        assertEquals(1, secret.iterations());
        assertArrayEquals(new byte[1], secret.salt());
        assertEquals(SMALLEST, secret.format());
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "",
        "hunter2",
        "md53175bce1d3201d16594cebf9d7eb3f9d",
        "SCRAM-SHA-256$",
        "SCRAM-SHA-1$4096:AA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "SCRAM-SHA-256$0:AA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "SCRAM-SHA-256$-1:AA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "SCRAM-SHA-256$99999999999:AA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "SCRAM-SHA-256$x:AA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "SCRAM-SHA-256$1:$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "SCRAM-SHA-256$1:A!==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "SCRAM-SHA-256$1AA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "SCRAM-SHA-256$1:AA==AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "SCRAM-SHA-256$1:AA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "SCRAM-SHA-256$1:AA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "SCRAM-SHA-256$1:AA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AA==",
        "SCRAM-SHA-256$1:AA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= ",
        " SCRAM-SHA-256$1:AA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    })
    void rejectsMalformedSecrets(String text) {
        assertFalse(ScramSecret.parse(text).isPresent());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ScramSecret.parseOrExplain(text));
        // Error messages never quote the text, which may be somebody's plain password.
        assertFalse(!text.isEmpty() && e.getMessage().contains(text));
    }

    @Test
    void rejectsNull() {
        assertFalse(ScramSecret.parse(null).isPresent());
        assertThrows(IllegalArgumentException.class, () -> ScramSecret.parseOrExplain(null));
    }

    @Test
    void toStringLeavesTheKeysOut() {
        String text = ScramSecret.parseOrExplain(SECRET_FOR_SECRET).toString();
        assertTrue(text.contains("4096"));
        assertFalse(text.contains("THoPhoTA"));
        assertFalse(text.contains("7YiHMMi2"));
    }

    @Test
    void isImmutable() {
        byte[] salt = SALT_0_TO_15.clone();
        ScramSecret secret = ScramSecrets.fromPassword("secret", salt, 4096);
        salt[0] = 99;
        secret.salt()[1] = 99;
        secret.storedKey()[0] ^= 1;
        assertEquals(SECRET_FOR_SECRET, secret.format());
    }

    @Test
    void constructorChecksItsParts() {
        byte[] key = new byte[32];
        assertEquals(1, new ScramSecret(1, new byte[1], key, key).iterations());
        assertThrows(IllegalArgumentException.class, () -> new ScramSecret(0, new byte[1], key, key));
        assertThrows(IllegalArgumentException.class, () -> new ScramSecret(1, new byte[0], key, key));
        assertThrows(IllegalArgumentException.class, () -> new ScramSecret(1, new byte[1], new byte[31], key));
        assertThrows(IllegalArgumentException.class, () -> new ScramSecret(1, new byte[1], key, new byte[33]));
    }
}
