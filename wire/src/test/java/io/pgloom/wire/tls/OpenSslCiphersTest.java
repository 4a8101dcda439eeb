package io.pgloom.wire.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;

/** client_tls_ciphers / server_tls_ciphers: OpenSSL cipher lists read as JDK suite names. */
class OpenSslCiphersTest {
    private static final List<String> JDK = jdkDefaults();

    private static List<String> jdkDefaults() {
        try {
            return List.of(SSLContext.getDefault().getDefaultSSLParameters().getCipherSuites());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void jdkSuitesHaveOpenSslsNames() {
        assertEquals("ECDHE-ECDSA-AES256-GCM-SHA384", OpenSslCiphers.openSslName("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"));
        assertEquals("ECDHE-RSA-AES128-SHA", OpenSslCiphers.openSslName("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"));
        assertEquals("ECDHE-RSA-AES256-SHA384", OpenSslCiphers.openSslName("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"));
        assertEquals("DHE-RSA-AES128-GCM-SHA256", OpenSslCiphers.openSslName("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"));
        assertEquals("DHE-DSS-AES256-SHA256", OpenSslCiphers.openSslName("TLS_DHE_DSS_WITH_AES_256_CBC_SHA256"));
        assertEquals("ECDHE-RSA-CHACHA20-POLY1305", OpenSslCiphers.openSslName("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"));
        assertEquals("AES128-GCM-SHA256", OpenSslCiphers.openSslName("TLS_RSA_WITH_AES_128_GCM_SHA256"));
    }

    @Test
    void namesAndGroupsSelectInTheListsOrder() throws Exception {
        assertEquals(List.of("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
                OpenSslCiphers.select("s", "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256", JDK));
        List<String> gcm = OpenSslCiphers.select("s", "ECDHE+AESGCM", JDK);
        assertTrue(!gcm.isEmpty() && gcm.stream().allMatch(c -> c.startsWith("TLS_ECDHE_") && c.contains("_GCM_")), gcm.toString());
        List<String> high = OpenSslCiphers.select("s", "HIGH:!aNULL:!MD5:!3DES", JDK);
        assertEquals(JDK.stream().filter(c -> c.contains("_WITH_")).toList(), high, "every JDK default is HIGH; the bans match nothing");
        List<String> noSha1 = OpenSslCiphers.select("s", "HIGH:!SHA1:!DSS", JDK);
        assertTrue(noSha1.stream().noneMatch(c -> c.endsWith("_SHA") || c.contains("_DSS_")), noSha1.toString());
        assertEquals(JDK.stream().filter(c -> c.contains("_WITH_")).toList(), OpenSslCiphers.select("s", "default", JDK));
        assertEquals(JDK.stream().filter(c -> c.contains("_WITH_")).toList(), OpenSslCiphers.select("s", "secure", JDK));
    }

    @Test
    void unknownNamesAndEmptyResultsAreRefusedByName() {
        TlsConfigException unknown = assertThrows(TlsConfigException.class, () -> OpenSslCiphers.select("client_tls_ciphers", "HIGH:FOO", JDK));
        assertTrue(unknown.getMessage().contains("client_tls_ciphers: unknown cipher \"FOO\""), unknown.getMessage());
        TlsConfigException none = assertThrows(TlsConfigException.class,
                () -> OpenSslCiphers.select("server_tls_ciphers", "RC4-SHA:DES-CBC3-SHA", JDK));
        assertTrue(none.getMessage().contains("no TLS 1.2 cipher suite the JDK offers is left"), none.getMessage());
    }

    @Test
    void tls13SuitesStayWhenTheTls12ListChanges() throws Exception {
        String[] suites = TlsCiphers.tls12("c", "ECDHE-RSA-AES128-GCM-SHA256", JDK.toArray(String[]::new));
        List<String> l = Arrays.asList(suites);
        assertTrue(l.contains("TLS_AES_128_GCM_SHA256") && l.contains("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"), l.toString());
        assertTrue(l.stream().filter(c -> c.contains("_WITH_")).count() == 1, l.toString());
    }
}
