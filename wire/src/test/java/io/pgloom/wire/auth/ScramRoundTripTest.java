package io.pgloom.wire.auth;

import static io.pgloom.wire.auth.Rfc7677.bytes;
import static io.pgloom.wire.auth.Rfc7677.text;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgloom.config.ScramSecret;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** pgloom's SCRAM client against pgloom's SCRAM server, with fresh nonces. */
class ScramRoundTripTest {
    private static final String MECHANISM = ScramServerExchange.mechanisms().getFirst();

    /** Runs a whole exchange; throws where either side refuses. */
    private static byte[] login(ScramClientExchange client, ScramServerExchange server) throws AuthFailure {
        byte[] serverFirst = server.clientFirst(MECHANISM, client.clientFirstMessage());
        byte[] serverFinal = server.clientFinal(client.clientFinalMessage(serverFirst));
        client.verifyServerFinal(serverFinal);
        return server.clientKey();
    }

    @Test
    void rightPasswordLogsIn() throws AuthFailure {
        login(new ScramClientExchange("s3cret"), new ScramServerExchange("alice", ScramSecrets.fromPassword("s3cret")));
    }

    @Test
    void rightPasswordLogsInAgainstAParsedUserlistSecret() throws AuthFailure {
        ScramSecret secret = ScramSecret.parseOrExplain(ScramSecrets.fromPassword("s3cret", new byte[] {1, 2, 3}, 4096).format());
        login(new ScramClientExchange("s3cret"), new ScramServerExchange("alice", secret));
    }

    @Test
    void saslPrepMakesEquivalentPasswordsEqual() throws AuthFailure {
        login(new ScramClientExchange("\u2168"), new ScramServerExchange("alice", ScramSecrets.fromPassword("IX")));
    }

    @Test
    void wrongPasswordFailsAtClientFinal() throws AuthFailure {
        ScramClientExchange client = new ScramClientExchange("wrong");
        ScramServerExchange server = new ScramServerExchange("alice", ScramSecrets.fromPassword("s3cret"));
        byte[] serverFirst = server.clientFirst(MECHANISM, client.clientFirstMessage());
        byte[] clientFinal = client.clientFinalMessage(serverFirst);
        assertThrows(AuthFailure.class, () -> server.clientFinal(clientFinal));
    }

    @Test
    void tamperedNonceFails() throws AuthFailure {
        ScramClientExchange client = new ScramClientExchange("s3cret");
        ScramServerExchange server = new ScramServerExchange("alice", ScramSecrets.fromPassword("s3cret"));
        byte[] serverFirst = server.clientFirst(MECHANISM, client.clientFirstMessage());
        String clientFinal = text(client.clientFinalMessage(serverFirst));
        int at = clientFinal.indexOf(",p=") - 1; // last nonce character
        char swapped = clientFinal.charAt(at) == 'A' ? 'B' : 'A';
        String tampered = clientFinal.substring(0, at) + swapped + clientFinal.substring(at + 1);
        assertThrows(AuthFailure.class, () -> server.clientFinal(bytes(tampered)));
    }

    @Test
    void tamperedChannelBindingFails() throws AuthFailure {
        ScramClientExchange client = new ScramClientExchange("s3cret");
        ScramServerExchange server = new ScramServerExchange("alice", ScramSecrets.fromPassword("s3cret"));
        byte[] serverFirst = server.clientFirst(MECHANISM, client.clientFirstMessage());
        String tampered = text(client.clientFinalMessage(serverFirst)).replace("c=biws,", "c=eSws,");
        assertThrows(AuthFailure.class, () -> server.clientFinal(bytes(tampered)));
    }

    @Test
    void tamperedSaltInServerFirstFailsAtTheServer() throws AuthFailure {
        // A man in the middle who changes the salt makes the client compute a useless proof.
        ScramClientExchange client = new ScramClientExchange("s3cret");
        ScramServerExchange server = new ScramServerExchange("alice", ScramSecrets.fromPassword("s3cret", new byte[] {1}, 4096));
        String serverFirst = text(server.clientFirst(MECHANISM, client.clientFirstMessage()));
        byte[] clientFinal = client.clientFinalMessage(bytes(serverFirst.replace(",s=AQ==,", ",s=Ag==,")));
        assertThrows(AuthFailure.class, () -> server.clientFinal(clientFinal));
    }

    @Test
    void serverWithoutTheSecretIsCaughtByTheClient() throws AuthFailure {
        // An impostor that accepts any proof cannot produce the server signature.
        ScramClientExchange client = new ScramClientExchange("s3cret");
        ScramServerExchange real = new ScramServerExchange("alice", ScramSecrets.fromPassword("s3cret", new byte[] {1}, 4096));
        byte[] serverFirst = real.clientFirst(MECHANISM, client.clientFirstMessage());
        client.clientFinalMessage(serverFirst);
        ScramSecret impostor = ScramSecrets.fromPassword("guess", new byte[] {1}, 4096);
        byte[] forged = bytes("v=" + java.util.Base64.getEncoder().encodeToString(
                ScramFunctions.hmac(impostor.serverKey(), bytes("anything"))));
        assertThrows(AuthFailure.class, () -> client.verifyServerFinal(forged));
    }

    @Test
    void passThroughLogsInWithTheRecoveredClientKey() throws AuthFailure {
        // PgBouncer's SCRAM pass-through: the client proves itself to pgloom; pgloom reuses the
        // ClientKey from that proof to log into the server, which holds the same secret.
        ScramSecret secret = ScramSecret.parseOrExplain(ScramSecrets.fromPassword("s3cret").format());
        byte[] clientKey = login(new ScramClientExchange("s3cret"), new ScramServerExchange("alice", secret));

        ScramClientExchange pooler = ScramClientExchange.withKeys(clientKey, secret.serverKey());
        byte[] again = login(pooler, new ScramServerExchange("alice", secret));
        assertArrayEquals(clientKey, again);
    }

    @Test
    void passThroughFailsAgainstAServerWithAnotherSecret() throws AuthFailure {
        ScramSecret secret = ScramSecrets.fromPassword("s3cret");
        byte[] clientKey = login(new ScramClientExchange("s3cret"), new ScramServerExchange("alice", secret));
        // Same password, other salt: the keys differ, as after the password was set again.
        ScramSecret other = ScramSecrets.fromPassword("s3cret");
        ScramClientExchange pooler = ScramClientExchange.withKeys(clientKey, secret.serverKey());
        assertThrows(AuthFailure.class, () -> login(pooler, new ScramServerExchange("alice", other)));
    }

    @Test
    void mangledMessagesOnlyEverCauseAuthFailure() throws AuthFailure {
        // Bounded fuzzing: every single-byte change, cut or extension of real messages must end
        // in AuthFailure or success, never in an unchecked exception.
        Random random = new Random(5802);
        ScramSecret secret = ScramSecrets.fromPassword("pw", new byte[] {9}, 1);
        ScramClientExchange honest = new ScramClientExchange("pw");
        byte[] clientFirst = honest.clientFirstMessage();
        ScramServerExchange honestServer = new ScramServerExchange("alice", secret);
        byte[] serverFirst = honestServer.clientFirst(MECHANISM, clientFirst);
        byte[] clientFinal = honest.clientFinalMessage(serverFirst);
        byte[] serverFinal = honestServer.clientFinal(clientFinal);

        for (int i = 0; i < 2_000; i++) {
            byte[] first = mangle(clientFirst, random);
            expectOnlyAuthFailure(() -> new ScramServerExchange("alice", secret).clientFirst(MECHANISM, first));

            byte[] last = mangle(clientFinal, random);
            expectOnlyAuthFailure(() -> {
                ScramServerExchange server = new ScramServerExchange("alice", secret);
                server.clientFirst(MECHANISM, clientFirst);
                server.clientFinal(last);
            });

            byte[] challenge = mangle(serverFirst, random);
            expectOnlyAuthFailure(() -> {
                ScramClientExchange client = new ScramClientExchange("pw");
                client.clientFirstMessage();
                client.clientFinalMessage(challenge);
            });

            byte[] verdict = mangle(serverFinal, random);
            expectOnlyAuthFailure(() -> {
                ScramClientExchange client = ScramClientExchange.withKeys(new byte[32], new byte[32]);
                byte[] ours = client.clientFirstMessage();
                String nonce = text(ours).substring("n,,n=,r=".length());
                client.clientFinalMessage(bytes("r=" + nonce + "S,s=AA==,i=1"));
                client.verifyServerFinal(verdict);
            });
        }
    }

    private interface Step {
        void run() throws AuthFailure;
    }

    private static void expectOnlyAuthFailure(Step step) {
        try {
            step.run();
        } catch (AuthFailure expected) {
            // fine: refused
        } catch (RuntimeException e) {
            fail("unchecked exception escaped an exchange", e);
        }
    }

    private static byte[] mangle(byte[] message, Random random) {
        byte[] out;
        switch (random.nextInt(4)) {
            case 0 -> {
                out = message.clone();
                out[random.nextInt(out.length)] = (byte) random.nextInt(256);
            }
            case 1 -> {
                out = message.clone();
                out[random.nextInt(out.length)] = (byte) ",=nrpcsiv"
                        .charAt(random.nextInt(9));
            }
            case 2 -> out = java.util.Arrays.copyOf(message, random.nextInt(message.length + 1));
            default -> {
                out = java.util.Arrays.copyOf(message, message.length + 1 + random.nextInt(8));
                for (int i = message.length; i < out.length; i++) {
                    out[i] = (byte) random.nextInt(256);
                }
            }
        }
        return out;
    }
}
