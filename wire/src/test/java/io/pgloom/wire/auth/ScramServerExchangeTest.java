package io.pgloom.wire.auth;

import static io.pgloom.wire.auth.Rfc7677.bytes;
import static io.pgloom.wire.auth.Rfc7677.text;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.config.ScramSecret;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ScramServerExchangeTest {
    /** Cheap secret for the many exchanges below: one iteration. */
    private static final ScramSecret SECRET = ScramSecrets.fromPassword("pw", new byte[] {7}, 1);
    private static final String SERVER_NONCE = "SERVERNONCE";

    private static ScramServerExchange exchange() {
        return new ScramServerExchange("alice", SECRET, SERVER_NONCE);
    }

    /** The client-final-message a client with the right password sends after these messages. */
    private static String clientFinal(String clientFirstBare, String serverFirst, String withoutProof) {
        byte[] saltedPassword = ScramFunctions.hi(bytes("pw"), new byte[] {7}, 1);
        byte[] clientKey = ScramFunctions.clientKey(saltedPassword);
        byte[] authMessage = bytes(clientFirstBare + "," + serverFirst + "," + withoutProof);
        byte[] proof = ScramFunctions.xor(clientKey,
                ScramFunctions.hmac(ScramFunctions.sha256(clientKey), authMessage));
        return withoutProof + ",p=" + Base64.getEncoder().encodeToString(proof);
    }

    private static void assertFails(ScramServerExchange exchange, String clientFirst) {
        assertThrows(AuthFailure.class, () -> exchange.clientFirst("SCRAM-SHA-256", bytes(clientFirst)));
    }

    @Test
    void offersOnlyScramSha256() {
        assertEquals(List.of("SCRAM-SHA-256"), ScramServerExchange.mechanisms());
    }

    @Test
    void replaysTheRfc7677Example() throws AuthFailure {
        ScramServerExchange exchange = new ScramServerExchange(Rfc7677.USER, Rfc7677.secret(), Rfc7677.SERVER_NONCE);
        assertEquals(Rfc7677.SERVER_FIRST, text(exchange.clientFirst("SCRAM-SHA-256", bytes(Rfc7677.CLIENT_FIRST))));
        assertEquals(Rfc7677.SERVER_FINAL, text(exchange.clientFinal(bytes(Rfc7677.CLIENT_FINAL))));
        assertArrayEquals(Rfc7677.CLIENT_KEY, exchange.clientKey());
    }

    @Test
    void acceptsTheSmallestClientFirstMessage() throws AuthFailure {
        // libpq sends an empty user name: PostgreSQL takes the startup packet's.
        String serverFirst = text(exchange().clientFirst("SCRAM-SHA-256", bytes("n,,n=,r=x")));
        assertEquals("r=x" + SERVER_NONCE + ",s=Bw==,i=1", serverFirst);
    }

    @Test
    void acceptsTheSmallestExchange() throws AuthFailure {
        ScramServerExchange exchange = exchange();
        String serverFirst = text(exchange.clientFirst("SCRAM-SHA-256", bytes("n,,n=,r=x")));
        String last = clientFinal("n=,r=x", serverFirst, "c=biws,r=x" + SERVER_NONCE);
        assertTrue(text(exchange.clientFinal(bytes(last))).startsWith("v="));
        assertEquals(32, exchange.clientKey().length);
    }

    @Test
    void acceptsExtensionsAndEscapedUserNames() throws AuthFailure {
        ScramServerExchange exchange = exchange();
        String bare = "n=a=2Cb=3Dc,r=x,x=ignored";
        String serverFirst = text(exchange.clientFirst("SCRAM-SHA-256", bytes("n,," + bare)));
        String last = clientFinal(bare, serverFirst, "c=biws,r=x" + SERVER_NONCE + ",z=ext");
        exchange.clientFinal(bytes(last));
    }

    @Test
    void acceptsClientThatCouldBindButThinksWeCannot() throws AuthFailure {
        ScramServerExchange exchange = exchange();
        String serverFirst = text(exchange.clientFirst("SCRAM-SHA-256", bytes("y,,n=,r=x")));
        // c= repeats the gs2 header "y,,": "eSws".
        exchange.clientFinal(bytes(clientFinal("n=,r=x", serverFirst, "c=eSws,r=x" + SERVER_NONCE)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1", "scram-sha-256", "", "PLAIN"})
    void rejectsOtherMechanisms(String mechanism) {
        ScramServerExchange exchange = exchange();
        assertThrows(AuthFailure.class, () -> exchange.clientFirst(mechanism, bytes("n,,n=,r=x")));
        // A failed exchange stays failed.
        assertThrows(AuthFailure.class, () -> exchange.clientFirst("SCRAM-SHA-256", bytes("n,,n=,r=x")));
    }

    @Test
    void rejectsNoMechanismAndNoMessage() {
        assertThrows(AuthFailure.class, () -> exchange().clientFirst(null, bytes("n,,n=,r=x")));
        assertThrows(AuthFailure.class, () -> exchange().clientFirst("SCRAM-SHA-256", null));
        assertThrows(AuthFailure.class, () -> exchange().clientFirst("SCRAM-SHA-256", new byte[0]));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "p=tls-server-end-point,,n=,r=x", // channel binding without -PLUS
        "x,,n=,r=x", // unknown cbind flag
        "n,n=,r=x", // gs2 header cut short
        "n", // just the flag
        "n,,", // no bare message
        "n,a=bob,n=,r=x", // authorization identity
        "n,,m=ext,n=,r=x", // mandatory extension
        "n,,r=x", // no user name
        "n,,n=", // no nonce
        "n,,n=,r=", // empty nonce
        "n,,n=,r=a b", // nonce not printable
        "n,,n=,r=a\u007Fb",
        "n,,n=,r=\u00E9",
        "n,,n=a=b,r=x", // bad escape in user name
        "n,,n=a=2c,r=x", // escapes are upper case
        "n,,n=,r=x,", // trailing comma
        "n,,n=,r=x,,", // empty attribute
        "n,,n=,r=x,1=y", // attribute name not a letter
        "n,,n=,r=x,xy", // attribute without '='
        "n,,n=,r=x\u0000", // NUL
    })
    void rejectsMalformedClientFirst(String message) {
        assertFails(exchange(), message);
    }

    @Test
    void acceptsAMessageOfTheLargestSizeAndRejectsOneByteMore() throws AuthFailure {
        int max = ScramMessageReader.MAX_MESSAGE_LENGTH;
        String largest = "n,,n=,r=" + "x".repeat(max - 8);
        assertEquals(max, largest.length());
        exchange().clientFirst("SCRAM-SHA-256", bytes(largest));
        assertFails(exchange(), largest + "x");
    }

    /** PgBouncer 1.25.1's fix: a client-final-message crafted to overflow a length. Here every length is checked first. */
    @Test
    void aClientFinalOverTheLargestSizeOrWithAHugeProofIsRefused() throws AuthFailure {
        ScramServerExchange exchange = exchange();
        exchange.clientFirst("SCRAM-SHA-256", bytes("n,,n=,r=x"));
        String huge = "c=biws,r=x" + SERVER_NONCE + ",p=" + "A".repeat(ScramMessageReader.MAX_MESSAGE_LENGTH);
        assertThrows(AuthFailure.class, () -> exchange.clientFinal(bytes(huge)));
        ScramServerExchange other = exchange();
        other.clientFirst("SCRAM-SHA-256", bytes("n,,n=,r=x"));
        String longProof = "c=biws,r=x" + SERVER_NONCE + ",p=" + "A".repeat(4000);
        assertThrows(AuthFailure.class, () -> other.clientFinal(bytes(longProof)));
    }

    @Test
    void rejectsAWrongProof() throws AuthFailure {
        ScramServerExchange exchange = exchange();
        String serverFirst = text(exchange.clientFirst("SCRAM-SHA-256", bytes("n,,n=,r=x")));
        String good = clientFinal("n=,r=x", serverFirst, "c=biws,r=x" + SERVER_NONCE);
        byte[] proof = Base64.getDecoder().decode(good.substring(good.indexOf(",p=") + 3));
        proof[31] ^= 1;
        String bad = good.substring(0, good.indexOf(",p=") + 3) + Base64.getEncoder().encodeToString(proof);
        AuthFailure failure = assertThrows(AuthFailure.class, () -> exchange.clientFinal(bytes(bad)));
        assertTrue(failure.getMessage().contains("wrong password"));
        assertThrows(IllegalStateException.class, exchange::clientKey);
    }

    /** Each variant of the client-final-message must fail where the honest one passes. */
    @ParameterizedTest
    @ValueSource(strings = {
        "", // empty
        "c=eSws,r=x" + SERVER_NONCE, // channel binding says "y,," but client-first said "n,,"
        "c=cD10bHMtc2VydmVyLWVuZC1wb2ludCws,r=x" + SERVER_NONCE, // "p=tls-server-end-point,,"
        "c=,r=x" + SERVER_NONCE,
        "r=x" + SERVER_NONCE, // no channel binding
        "c=biws", // no nonce
        "c=biws,r=x", // nonce without the server's part
        "c=biws,r=y" + SERVER_NONCE, // nonce changed
        "c=biws,r=x" + SERVER_NONCE + "z", // nonce extended
        "c=biws,r=x" + SERVER_NONCE + ",p=!!!!", // bad base64 proof
        "c=biws,r=x" + SERVER_NONCE + ",p=AAAA", // proof too short
        "c=biws,r=x" + SERVER_NONCE + ",p=", // empty proof
        "c=biws,r=x" + SERVER_NONCE + ",p", // proof without '='
    })
    void rejectsMalformedOrTamperedClientFinal(String message) throws AuthFailure {
        ScramServerExchange exchange = exchange();
        String serverFirst = text(exchange.clientFirst("SCRAM-SHA-256", bytes("n,,n=,r=x")));
        // Give every variant with a proof the proof an honest client would compute for it, so
        // that only the defect under test can make it fail.
        String candidate = message.contains(",p") || message.isEmpty() ? message : clientFinal("n=,r=x", serverFirst, message);
        assertThrows(AuthFailure.class, () -> exchange.clientFinal(bytes(candidate)));
    }

    @Test
    void rejectsDataAfterTheProof() throws AuthFailure {
        ScramServerExchange exchange = exchange();
        String serverFirst = text(exchange.clientFirst("SCRAM-SHA-256", bytes("n,,n=,r=x")));
        String good = clientFinal("n=,r=x", serverFirst, "c=biws,r=x" + SERVER_NONCE);
        assertThrows(AuthFailure.class, () -> exchange.clientFinal(bytes(good + ",x=y")));
    }

    @Test
    void rejectsMessagesOutOfOrder() throws AuthFailure {
        assertThrows(AuthFailure.class, () -> exchange().clientFinal(bytes("c=biws,r=x" + SERVER_NONCE)));

        ScramServerExchange twice = exchange();
        twice.clientFirst("SCRAM-SHA-256", bytes("n,,n=,r=x"));
        assertThrows(AuthFailure.class, () -> twice.clientFirst("SCRAM-SHA-256", bytes("n,,n=,r=x")));

        ScramServerExchange done = exchange();
        String serverFirst = text(done.clientFirst("SCRAM-SHA-256", bytes("n,,n=,r=x")));
        String last = clientFinal("n=,r=x", serverFirst, "c=biws,r=x" + SERVER_NONCE);
        done.clientFinal(bytes(last));
        assertThrows(AuthFailure.class, () -> done.clientFinal(bytes(last)));
    }

    @Test
    void clientKeyIsOnlyThereAfterSuccess() throws AuthFailure {
        ScramServerExchange exchange = exchange();
        assertThrows(IllegalStateException.class, exchange::clientKey);
        exchange.clientFirst("SCRAM-SHA-256", bytes("n,,n=,r=x"));
        assertThrows(IllegalStateException.class, exchange::clientKey);
    }

    @Test
    void serverNoncesAreFresh() throws AuthFailure {
        String a = text(new ScramServerExchange("alice", SECRET).clientFirst("SCRAM-SHA-256", bytes("n,,n=,r=x")));
        String b = text(new ScramServerExchange("alice", SECRET).clientFirst("SCRAM-SHA-256", bytes("n,,n=,r=x")));
        assertNotEquals(a, b);
        assertEquals("r=x".length() + 24, a.indexOf(",s="));
    }

    @Test
    void mockExchangeLooksRealAndAlwaysFails() throws AuthFailure {
        byte[] instanceSecret = bytes("instance");
        String first = text(ScramServerExchange.mock("ghost", instanceSecret).clientFirst("SCRAM-SHA-256", bytes("n,,n=,r=x")));
        String again = text(ScramServerExchange.mock("ghost", instanceSecret).clientFirst("SCRAM-SHA-256", bytes("n,,n=,r=x")));
        String other = text(ScramServerExchange.mock("casper", instanceSecret).clientFirst("SCRAM-SHA-256", bytes("n,,n=,r=x")));
        String salt = first.substring(first.indexOf(",s="));
        // Same salt for the same user on every try, as a real user's would be; another per user.
        assertEquals(salt, again.substring(again.indexOf(",s=")));
        assertNotEquals(salt, other.substring(other.indexOf(",s=")));
        assertTrue(salt.endsWith(",i=4096"));
        assertEquals(16, Base64.getDecoder().decode(salt.substring(3, salt.indexOf(",i="))).length);

        ScramServerExchange mock = ScramServerExchange.mock("ghost", instanceSecret);
        String serverFirst = text(mock.clientFirst("SCRAM-SHA-256", bytes("n,,n=,r=x")));
        String nonce = serverFirst.substring(2, serverFirst.indexOf(','));
        String last = clientFinal("n=,r=x", serverFirst, "c=biws,r=" + nonce);
        AuthFailure failure = assertThrows(AuthFailure.class, () -> mock.clientFinal(bytes(last)));
        assertTrue(failure.getMessage().contains("mock"));
    }

    @Test
    void injectedServerNonceMustBePrintable() {
        assertThrows(IllegalArgumentException.class, () -> new ScramServerExchange("a", SECRET, "a,b"));
        assertThrows(IllegalArgumentException.class, () -> new ScramServerExchange("a", SECRET, ""));
    }
}
