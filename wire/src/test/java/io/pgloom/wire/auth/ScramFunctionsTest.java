package io.pgloom.wire.auth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HexFormat;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import org.junit.jupiter.api.Test;

class ScramFunctionsTest {

    @Test
    void hiMatchesTheJdksPbkdf2ForAnAsciiPassword() throws Exception {
        byte[] salt = Base64.getDecoder().decode("W22ZaJ0SNY7soEsUEjb6gQ==");
        byte[] expected = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256")
                .generateSecret(new PBEKeySpec("pencil".toCharArray(), salt, 4096, 256))
                .getEncoded();
        assertArrayEquals(expected, ScramFunctions.hi("pencil".getBytes(StandardCharsets.US_ASCII), salt, 4096));
    }

    @Test
    void hiWithOneIterationIsOneHmac() {
        byte[] salt = {1, 2, 3};
        byte[] password = {'p'};
        assertArrayEquals(ScramFunctions.hmac(password, new byte[] {1, 2, 3, 0, 0, 0, 1}),
                ScramFunctions.hi(password, salt, 1));
        assertThrows(IllegalArgumentException.class, () -> ScramFunctions.hi(password, salt, 0));
    }

    @Test
    void hmacAcceptsAnEmptyKey() {
        // HMAC-SHA-256 with empty key and empty message, a well-known value.
        assertEquals("b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad",
                HexFormat.of().formatHex(ScramFunctions.hmac(new byte[0], new byte[0])));
    }

    @Test
    void noncesAre24PrintableCharactersAndFresh() {
        String a = ScramFunctions.newNonce();
        String b = ScramFunctions.newNonce();
        assertEquals(24, a.length());
        assertEquals(-1, a.indexOf(','));
        assertEquals(-1, a.indexOf('='));
        assertNotEquals(a, b);
    }

    @Test
    void xorRefusesUnequalLengths() {
        assertArrayEquals(new byte[] {3}, ScramFunctions.xor(new byte[] {1}, new byte[] {2}));
        assertThrows(IllegalArgumentException.class, () -> ScramFunctions.xor(new byte[1], new byte[2]));
    }
}
