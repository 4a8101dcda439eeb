package io.pgloom.wire.tls;

import java.security.Provider;
import java.security.Security;

/**
 * Hands the JDK's TLS engine Bouncy Castle's X25519 in place of the JDK's own: JSSE asks for
 * {@code XDH} key generation and agreement by name, and this provider, first in the JVM's list,
 * answers with Bouncy Castle's (about twice as fast as the JDK's pure-Java X25519 in a
 * micro-benchmark; bench/RESULTS.md). Nothing else moves: AES-GCM, ECDSA and HKDF stay with the
 * JDK. {@code -Dpgloom.tls.x25519=jdk} keeps the JDK's.
 *
 * <p>Threading: {@link #install} may be called from any thread, any number of times.
 */
final class FastX25519 {
    private static final String SPI = "org.bouncycastle.jcajce.provider.asymmetric.edec.";
    static final String NAME = "PgloomXDH";
    private static boolean done;

    private FastX25519() {
    }

    /** Puts the provider first in the JVM's list, once; a no-op when told to keep the JDK's. */
    static synchronized void install() {
        if (done) {
            return;
        }
        done = true;
        if ("jdk".equals(System.getProperty("pgloom.tls.x25519")) || Security.getProvider(NAME) != null) {
            return;
        }
        Security.insertProviderAt(new XdhFromBouncyCastle(), 1);
    }

    private static final class XdhFromBouncyCastle extends Provider {
        XdhFromBouncyCastle() {
            super(NAME, "1", "XDH (X25519, X448) key generation and agreement from Bouncy Castle, for JSSE");
            putService(new Service(this, "KeyPairGenerator", "XDH", SPI + "KeyPairGeneratorSpi$XDH", null, null));
            putService(new Service(this, "KeyAgreement", "XDH", SPI + "KeyAgreementSpi$XDH", null, null));
            putService(new Service(this, "KeyFactory", "XDH", SPI + "KeyFactorySpi$XDH", null, null));
        }
    }
}
