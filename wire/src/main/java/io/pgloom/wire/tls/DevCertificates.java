package io.pgloom.wire.tls;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.util.io.pem.PemGenerationException;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A development CA and the certificates it signs, for TLS in tests, in {@code pgloom demo} and
 * behind {@code pgloom cert dev}: never for production (the CA key sits next to what it signs).
 * EC P-256 keys, SHA-256 signatures; a server certificate names its hosts in subjectAltName (DNS
 * names and IP addresses), which is what verify-full checks.
 */
public final class DevCertificates {
    private static final SecureRandom RANDOM = new SecureRandom();

    /** A key and the certificate for it. */
    public record Issued(KeyPair key, X509Certificate certificate) {
        /** The certificate as PEM. */
        public String certificatePem() {
            return pem(certificate);
        }

        /** The private key as PKCS#8 PEM ({@code BEGIN PRIVATE KEY}). */
        public String keyPem() {
            try {
                return pem(new JcaPKCS8Generator(key.getPrivate(), null));
            } catch (PemGenerationException e) {
                throw new IllegalStateException("cannot write a private key", e);
            }
        }

        /** Writes {@code name.crt} and {@code name.key} (mode 600) into {@code dir}. */
        public void write(Path dir, String name) throws IOException {
            Files.writeString(dir.resolve(name + ".crt"), certificatePem());
            Path key = dir.resolve(name + ".key");
            Files.deleteIfExists(key);
            Files.createFile(key, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(key, keyPem());
        }
    }

    private final Issued ca;

    private DevCertificates(Issued ca) {
        this.ca = ca;
    }

    /** A new self-signed CA named {@code commonName}, valid for {@code validity}. */
    public static DevCertificates newCa(String commonName, Duration validity) {
        KeyPair key = newKey();
        X500Name name = new X500Name("CN=" + commonName);
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = builder(name, name, key, Instant.now().minus(Duration.ofMinutes(5)), validity);
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(key.getPublic()));
            return new DevCertificates(new Issued(key, sign(b, key)));
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot make a CA certificate", e);
        }
    }

    public Issued ca() {
        return ca;
    }

    /** A server certificate for {@code hosts} (names or IP addresses), valid from now for {@code validity}. */
    public Issued server(String commonName, List<String> hosts, Duration validity) {
        return issue(commonName, hosts, Instant.now().minus(Duration.ofMinutes(5)), validity);
    }

    /** A client certificate whose common name is {@code user} (what the cert auth method reads). */
    public Issued client(String user, Duration validity) {
        return issue(user, List.of(), Instant.now().minus(Duration.ofMinutes(5)), validity);
    }

    /** A certificate valid from {@code notBefore} for {@code validity}: one that already expired, for tests. */
    public Issued issue(String commonName, List<String> hosts, Instant notBefore, Duration validity) {
        KeyPair key = newKey();
        try {
            X509v3CertificateBuilder b = builder(new X500Name(ca.certificate().getSubjectX500Principal().getName()),
                    new X500Name("CN=" + commonName), key, notBefore, validity);
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
            if (!hosts.isEmpty()) {
                List<GeneralName> names = new ArrayList<>();
                for (String h : hosts) {
                    names.add(isAddress(h) ? new GeneralName(GeneralName.iPAddress, h) : new GeneralName(GeneralName.dNSName, h));
                }
                b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(GeneralName[]::new)));
            }
            return new Issued(key, sign(b, ca.key()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean isAddress(String host) {
        if (!host.matches("[0-9.]+|.*:.*")) {
            return false;
        }
        try {
            InetAddress.ofLiteral(host);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static X509v3CertificateBuilder builder(X500Name issuer, X500Name subject, KeyPair key, Instant notBefore,
                                                    Duration validity) {
        return new JcaX509v3CertificateBuilder(issuer, new BigInteger(64, RANDOM).abs().add(BigInteger.ONE),
                Date.from(notBefore), Date.from(notBefore.plus(validity)), subject, key.getPublic());
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, KeyPair signer) {
        try {
            return new JcaX509CertificateConverter().getCertificate(
                    b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
        } catch (OperatorCreationException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot sign a certificate", e);
        }
    }

    private static KeyPair newKey() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(256, RANDOM);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("no EC key generator in this JDK", e);
        }
    }

    static String pem(Object o) {
        StringWriter s = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(s)) {
            w.writeObject(o);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return s.toString();
    }
}
