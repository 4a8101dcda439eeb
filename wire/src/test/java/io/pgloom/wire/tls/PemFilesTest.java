package io.pgloom.wire.tls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.time.Duration;
import java.util.List;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8EncryptorBuilder;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The PEM forms PgBouncer reads, and the clear refusals for what pgloom cannot use. */
class PemFilesTest {
    @TempDir
    Path dir;

    private Path write(String name, Object pemObject) throws Exception {
        Path p = dir.resolve(name);
        try (JcaPEMWriter w = new JcaPEMWriter(Files.newBufferedWriter(p))) {
            w.writeObject(pemObject);
        }
        return p;
    }

    @Test
    void readsPkcs1RsaAndPkcs8AndSec1EcKeys() throws Exception {
        KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
        rsa.initialize(2048);
        PrivateKey rsaKey = rsa.generateKeyPair().getPrivate();
        // JcaPEMWriter writes a bare PrivateKey as OpenSSL's traditional form: BEGIN RSA PRIVATE KEY.
        Path pkcs1 = write("rsa1.key", rsaKey);
        assertTrue(Files.readString(pkcs1).contains("BEGIN RSA PRIVATE KEY"));
        assertArrayEquals(rsaKey.getEncoded(), PemFiles.privateKey(pkcs1).getEncoded());
        Path pkcs8 = write("rsa8.key", new JcaPKCS8Generator(rsaKey, null));
        assertTrue(Files.readString(pkcs8).contains("BEGIN PRIVATE KEY"));
        assertArrayEquals(rsaKey.getEncoded(), PemFiles.privateKey(pkcs8).getEncoded());
        // SEC1 as OpenSSL writes it (openssl ecparam -name prime256v1 -genkey -noout): a test fixture.
        Path sec1 = dir.resolve("ec.key");
        try (var in = PemFilesTest.class.getResourceAsStream("/tls/openssl-sec1-ec.key")) {
            Files.copy(in, sec1);
        }
        assertTrue(Files.readString(sec1).contains("BEGIN EC PRIVATE KEY"));
        assertEquals("EC", PemFiles.privateKey(sec1).getAlgorithm());
    }

    @Test
    void refusesAnEncryptedKeyWithTheReason() throws Exception {
        KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
        ec.initialize(256);
        var enc = new JceOpenSSLPKCS8EncryptorBuilder(PKCSObjectIdentifiers.pbeWithSHAAnd3_KeyTripleDES_CBC)
                .setPassword("secret".toCharArray()).build();
        Path p = write("enc.key", new JcaPKCS8Generator(ec.generateKeyPair().getPrivate(), enc));
        TlsConfigException e = assertThrows(TlsConfigException.class, () -> PemFiles.privateKey(p));
        assertTrue(e.getMessage().contains("enc.key") && e.getMessage().contains("encrypted"), e.getMessage());
    }

    @Test
    void readsAChainInOrderAndRefusesAKeyThatIsNotTheCertificates() throws Exception {
        DevCertificates dev = DevCertificates.newCa("test CA", Duration.ofDays(1));
        DevCertificates.Issued server = dev.server("db", List.of("db.example", "10.0.0.1"), Duration.ofDays(1));
        Path chain = dir.resolve("chain.crt");
        Files.writeString(chain, server.certificatePem() + dev.ca().certificatePem());
        assertEquals(List.of(server.certificate(), dev.ca().certificate()), PemFiles.certificates(chain));
        server.write(dir, "server");
        PemFiles.keyStore(chain, dir.resolve("server.key")); // matches: no exception
        dev.client("alice", Duration.ofDays(1)).write(dir, "other");
        TlsConfigException e = assertThrows(TlsConfigException.class, () -> PemFiles.keyStore(chain, dir.resolve("other.key")));
        assertTrue(e.getMessage().contains("does not belong"), e.getMessage());
    }

    @Test
    void namesTheFileThatIsNotPem() throws Exception {
        Path p = dir.resolve("junk.crt");
        Files.writeString(p, "not a certificate\n");
        TlsConfigException e = assertThrows(TlsConfigException.class, () -> PemFiles.certificates(p));
        assertTrue(e.getMessage().contains("junk.crt") && e.getMessage().contains("no certificate"), e.getMessage());
    }

    @Test
    void protocolsInPgBouncersWords() throws Exception {
        assertArrayEquals(new String[] {"TLSv1.2", "TLSv1.3"}, TlsProtocols.parse("client_tls_protocols", "secure"));
        assertArrayEquals(new String[] {"TLSv1.3"}, TlsProtocols.parse("client_tls_protocols", "tlsv1.3"));
        assertArrayEquals(new String[] {"TLSv1.2", "TLSv1.3"}, TlsProtocols.parse("client_tls_protocols", "all:!tlsv1.0,!tlsv1.1"));
        TlsConfigException e = assertThrows(TlsConfigException.class, () -> TlsProtocols.parse("client_tls_protocols", "sslv3"));
        assertTrue(e.getMessage().contains("sslv3"), e.getMessage());
    }
}
