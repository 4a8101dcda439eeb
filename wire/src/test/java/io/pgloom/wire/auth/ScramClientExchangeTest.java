package io.pgloom.wire.auth;

import static io.pgloom.wire.auth.Rfc7677.bytes;
import static io.pgloom.wire.auth.Rfc7677.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ScramClientExchangeTest {
    private static final String NONCE = "CLIENTNONCE";

    private static ScramClientExchange started() {
        ScramClientExchange client = new ScramClientExchange("pw", "", NONCE);
        client.clientFirstMessage();
        return client;
    }

    @Test
    void replaysTheRfc7677Example() throws AuthFailure {
        ScramClientExchange client = new ScramClientExchange(Rfc7677.PASSWORD, Rfc7677.USER, Rfc7677.CLIENT_NONCE);
        assertEquals(Rfc7677.CLIENT_FIRST, text(client.clientFirstMessage()));
        assertEquals(Rfc7677.CLIENT_FINAL, text(client.clientFinalMessage(bytes(Rfc7677.SERVER_FIRST))));
        client.verifyServerFinal(bytes(Rfc7677.SERVER_FINAL));
    }

    @Test
    void replaysTheRfc7677ExampleWithKeysInsteadOfThePassword() throws AuthFailure {
        ScramClientExchange client = ScramClientExchange.withKeys(
                Rfc7677.CLIENT_KEY, Rfc7677.SERVER_KEY, Rfc7677.USER, Rfc7677.CLIENT_NONCE);
        assertEquals(Rfc7677.CLIENT_FIRST, text(client.clientFirstMessage()));
        assertEquals(Rfc7677.CLIENT_FINAL, text(client.clientFinalMessage(bytes(Rfc7677.SERVER_FIRST))));
        client.verifyServerFinal(bytes(Rfc7677.SERVER_FINAL));
    }

    @Test
    void clientFirstMessageIsLikeLibpqs() {
        String first = text(new ScramClientExchange("pw").clientFirstMessage());
        assertTrue(first.startsWith("n,,n=,r="), first);
        assertEquals("n,,n=,r=".length() + 24, first.length());
        assertNotEquals(first, text(new ScramClientExchange("pw").clientFirstMessage()));
        assertEquals("SCRAM-SHA-256", ScramClientExchange.MECHANISM);
    }

    @Test
    void userNameIsEscaped() {
        assertEquals("n,,n=a=2Cb=3D,r=x", text(new ScramClientExchange("pw", "a,b=", "x").clientFirstMessage()));
    }

    @Test
    void clientFirstMessageIsSentOnce() {
        ScramClientExchange client = new ScramClientExchange("pw");
        client.clientFirstMessage();
        assertThrows(IllegalStateException.class, client::clientFirstMessage);
    }

    @Test
    void acceptsTheSmallestServerFirstMessage() throws AuthFailure {
        String last = text(started().clientFinalMessage(bytes("r=" + NONCE + "S,s=AA==,i=1")));
        assertTrue(last.startsWith("c=biws,r=" + NONCE + "S,p="), last);
        assertEquals(32, Base64.getDecoder().decode(last.substring(last.indexOf(",p=") + 3)).length);
    }

    @Test
    void acceptsExtensionsInServerFirstMessage() throws AuthFailure {
        started().clientFinalMessage(bytes("r=" + NONCE + "S,s=AA==,i=1,x=future"));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "", // empty
        "s=AA==,i=1", // no nonce
        "r=,s=AA==,i=1", // empty nonce
        "r=" + NONCE + ",s=AA==,i=1", // the server added nothing
        "r=X" + NONCE + "S,s=AA==,i=1", // does not start with ours
        "r=CLIENTNONCF,s=AA==,i=1",
        "r=" + NONCE + "S S,s=AA==,i=1", // not printable
        "r=" + NONCE + "S,i=1", // no salt
        "r=" + NONCE + "S,s=,i=1", // empty salt
        "r=" + NONCE + "S,s=A,i=1", // bad base64
        "r=" + NONCE + "S,s=A!==,i=1",
        "r=" + NONCE + "S,s=AA==", // no iteration count
        "r=" + NONCE + "S,s=AA==,i=", // empty iteration count
        "r=" + NONCE + "S,s=AA==,i=0",
        "r=" + NONCE + "S,s=AA==,i=-1",
        "r=" + NONCE + "S,s=AA==,i=+1",
        "r=" + NONCE + "S,s=AA==,i=1x",
        "r=" + NONCE + "S,s=AA==,i=10000001", // over our cap
        "r=" + NONCE + "S,s=AA==,i=2147483648", // over int
        "r=" + NONCE + "S,s=AA==,i=99999999999999999999",
        "m=x,r=" + NONCE + "S,s=AA==,i=1", // mandatory extension
        "r=" + NONCE + "S,s=AA==,i=1,", // trailing comma
        "i=1,s=AA==,r=" + NONCE + "S", // wrong order
    })
    void rejectsMalformedServerFirst(String message) {
        ScramClientExchange client = started();
        assertThrows(AuthFailure.class, () -> client.clientFinalMessage(bytes(message)));
        // A failed exchange stays failed.
        assertThrows(AuthFailure.class, () -> client.clientFinalMessage(bytes("r=" + NONCE + "S,s=AA==,i=1")));
    }

    @Test
    void acceptsTheCorrectServerSignature() throws AuthFailure {
        ScramClientExchange client = new ScramClientExchange(Rfc7677.PASSWORD, Rfc7677.USER, Rfc7677.CLIENT_NONCE);
        client.clientFirstMessage();
        client.clientFinalMessage(bytes(Rfc7677.SERVER_FIRST));
        client.verifyServerFinal(bytes(Rfc7677.SERVER_FINAL + ",x=future"));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "", // empty
        "v=", // empty signature
        "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95H4=", // last byte changed
        "v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", // first byte changed
        "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G", // a character short: bad base64
        "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl9", // too short
        "v=!!!!", // bad base64
        "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=,", // trailing comma
        "x=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", // no verifier
        "e=invalid-proof", // the server's error
    })
    void rejectsAWrongServerFinal(String message) throws AuthFailure {
        ScramClientExchange client = new ScramClientExchange(Rfc7677.PASSWORD, Rfc7677.USER, Rfc7677.CLIENT_NONCE);
        client.clientFirstMessage();
        client.clientFinalMessage(bytes(Rfc7677.SERVER_FIRST));
        assertThrows(AuthFailure.class, () -> client.verifyServerFinal(bytes(message)));
        assertThrows(AuthFailure.class, () -> client.verifyServerFinal(bytes(Rfc7677.SERVER_FINAL)));
    }

    @Test
    void reportsTheServersErrorForTheLog() throws AuthFailure {
        ScramClientExchange client = started();
        client.clientFinalMessage(bytes("r=" + NONCE + "S,s=AA==,i=1"));
        AuthFailure failure = assertThrows(AuthFailure.class,
                () -> client.verifyServerFinal(bytes("e=invalid-proof\u0001")));
        assertTrue(failure.getMessage().endsWith("invalid-proof?"), failure.getMessage());
    }

    @Test
    void rejectsMessagesOutOfOrder() throws AuthFailure {
        ScramClientExchange fresh = new ScramClientExchange("pw", "", NONCE);
        assertThrows(AuthFailure.class, () -> fresh.clientFinalMessage(bytes("r=" + NONCE + "S,s=AA==,i=1")));

        ScramClientExchange early = started();
        assertThrows(AuthFailure.class, () -> early.verifyServerFinal(bytes(Rfc7677.SERVER_FINAL)));

        ScramClientExchange twice = started();
        twice.clientFinalMessage(bytes("r=" + NONCE + "S,s=AA==,i=1"));
        assertThrows(AuthFailure.class, () -> twice.clientFinalMessage(bytes("r=" + NONCE + "S,s=AA==,i=1")));
    }

    @Test
    void withKeysRefusesKeysOfTheWrongLength() {
        byte[] key = new byte[32];
        ScramClientExchange.withKeys(key, key);
        assertThrows(IllegalArgumentException.class, () -> ScramClientExchange.withKeys(new byte[31], key));
        assertThrows(IllegalArgumentException.class, () -> ScramClientExchange.withKeys(key, new byte[33]));
        assertThrows(IllegalArgumentException.class, () -> ScramClientExchange.withKeys(null, key));
    }

    @Test
    void injectedClientNonceMustBePrintable() {
        assertThrows(IllegalArgumentException.class, () -> new ScramClientExchange("pw", "", "a,b"));
        assertThrows(IllegalArgumentException.class, () -> new ScramClientExchange("pw", "", ""));
    }
}
