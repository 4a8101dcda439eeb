package io.pgloom.wire.tls;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * Keys and certificates in the PEM files PgBouncer and PostgreSQL read: a private key as PKCS#1
 * ({@code BEGIN RSA PRIVATE KEY}), SEC1 ({@code BEGIN EC PRIVATE KEY}) or PKCS#8
 * ({@code BEGIN PRIVATE KEY}); certificates one after another (a chain, leaf first; or a CA
 * bundle). Bouncy Castle parses them, since the JDK reads none of PKCS#1 and SEC1. An encrypted
 * key is refused: PgBouncer cannot ask for its passphrase either.
 *
 * <p>Every failure is a {@link TlsConfigException} that names the file and what is wrong with it.
 */
public final class PemFiles {
    private static final JcaX509CertificateConverter CERTS = new JcaX509CertificateConverter();
    private static final JcaPEMKeyConverter KEYS = new JcaPEMKeyConverter();

    private PemFiles() {
    }

    /** The one private key in {@code file}. */
    public static PrivateKey privateKey(Path file) throws TlsConfigException {
        PrivateKey found = null;
        for (Object o : objects(file)) {
            PrivateKey key;
            try {
                key = switch (o) {
                    case PEMKeyPair pair -> KEYS.getPrivateKey(pair.getPrivateKeyInfo()); // a SEC1 key may lack its public half
                    case PrivateKeyInfo info -> KEYS.getPrivateKey(info);
                    case PEMEncryptedKeyPair e -> throw new TlsConfigException(file, "the private key is encrypted;"
                            + " pgloom cannot ask for its passphrase (decrypt it: openssl pkey -in KEY -out KEY.plain)");
                    case PKCS8EncryptedPrivateKeyInfo e -> throw new TlsConfigException(file, "the private key is encrypted;"
                            + " pgloom cannot ask for its passphrase (decrypt it: openssl pkey -in KEY -out KEY.plain)");
                    default -> null;
                };
            } catch (IOException e) {
                throw new TlsConfigException(file, "unreadable private key: " + e.getMessage());
            }
            if (key != null) {
                if (found != null) {
                    throw new TlsConfigException(file, "holds more than one private key");
                }
                found = key;
            }
        }
        if (found == null) {
            throw new TlsConfigException(file, "holds no private key (expected BEGIN PRIVATE KEY, BEGIN RSA PRIVATE KEY"
                    + " or BEGIN EC PRIVATE KEY)");
        }
        return found;
    }

    /** Every certificate in {@code file}, in file order (for a chain: the leaf first). */
    public static List<X509Certificate> certificates(Path file) throws TlsConfigException {
        List<X509Certificate> certs = new ArrayList<>();
        for (Object o : objects(file)) {
            if (o instanceof X509CertificateHolder h) {
                try {
                    certs.add(CERTS.getCertificate(h));
                } catch (GeneralSecurityException e) {
                    throw new TlsConfigException(file, "unreadable certificate: " + e.getMessage());
                }
            }
        }
        if (certs.isEmpty()) {
            throw new TlsConfigException(file, "holds no certificate (expected BEGIN CERTIFICATE)");
        }
        return certs;
    }

    /**
     * A key store holding {@code keyFile}'s key with {@code certFile}'s chain, checked to belong
     * together (a key that does not match its certificate would fail every handshake instead).
     */
    public static KeyStore keyStore(Path certFile, Path keyFile) throws TlsConfigException {
        List<X509Certificate> chain = certificates(certFile);
        PrivateKey key = privateKey(keyFile);
        if (!matches(key, chain.getFirst())) {
            throw new TlsConfigException(keyFile, "the private key does not belong to the certificate in " + certFile);
        }
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("key", key, new char[0], chain.toArray(X509Certificate[]::new));
            return ks;
        } catch (IOException | GeneralSecurityException e) {
            throw new TlsConfigException(keyFile, "cannot use the key: " + e.getMessage());
        }
    }

    /** A key store of trusted certificates: every one in {@code caFile}. */
    public static KeyStore trustStore(Path caFile) throws TlsConfigException {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            int i = 0;
            for (X509Certificate c : certificates(caFile)) {
                ks.setCertificateEntry("ca" + i++, c);
            }
            return ks;
        } catch (IOException | GeneralSecurityException e) {
            throw new TlsConfigException(caFile, "cannot use the CA certificates: " + e.getMessage());
        }
    }

    /** Whether the key's public half is the certificate's: compared by signing and verifying a probe. */
    private static boolean matches(PrivateKey key, X509Certificate cert) {
        String alg = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "Ed25519" -> "Ed25519";
            default -> null;
        };
        if (alg == null) {
            return true; // an unusual key type: let the handshake judge it
        }
        try {
            byte[] probe = "pgloom key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            java.security.Signature s = java.security.Signature.getInstance(alg);
            s.initSign(key);
            s.update(probe);
            byte[] sig = s.sign();
            s.initVerify(cert.getPublicKey());
            s.update(probe);
            return s.verify(sig);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private static List<Object> objects(Path file) throws TlsConfigException {
        List<Object> out = new ArrayList<>();
        try (Reader r = Files.newBufferedReader(file, java.nio.charset.StandardCharsets.US_ASCII);
                PEMParser p = new PEMParser(r)) {
            for (Object o; (o = p.readObject()) != null; ) {
                out.add(o);
            }
        } catch (NoSuchFileException e) {
            throw new TlsConfigException(file, "no such file");
        } catch (IOException | RuntimeException e) {
            throw new TlsConfigException(file, "not a PEM file PgBouncer would read: " + e.getMessage());
        }
        return out;
    }
}
