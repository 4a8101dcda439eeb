package io.pgloom.wire.tls;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * client_tls13_ciphers and server_tls13_ciphers: TLS 1.3 cipher suites, colon-separated. Their names are the same in
 * OpenSSL, IANA and the JDK ({@code TLS_AES_256_GCM_SHA384}), so they pass as they are; a name the
 * JDK does not offer (TLS_AES_128_CCM_SHA256, a typo) is refused by name, in PgBouncer's words.
 */
public final class TlsCiphers {
    private static final List<String> TLS13 = List.of("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256");

    private TlsCiphers() {
    }

    /** The suites {@code value} names, in its order; null for an empty value (the JDK's defaults). */
    public static List<String> tls13(String setting, String value) throws TlsConfigException {
        if (value.isBlank()) {
            return null;
        }
        Set<String> suites = new LinkedHashSet<>();
        for (String name : value.split(":")) {
            String n = name.strip();
            if (n.isEmpty()) {
                continue;
            }
            if (!TLS13.contains(n)) {
                throw new TlsConfigException(setting + ": failed to set the TLSv1.3 cipher suites: unknown suite \"" + n
                        + "\" (the JDK offers " + String.join(", ", TLS13) + ")");
            }
            suites.add(n);
        }
        if (suites.isEmpty()) {
            throw new TlsConfigException(setting + ": failed to set the TLSv1.3 cipher suites: none named");
        }
        return List.copyOf(suites);
    }

    /**
     * client_tls_ciphers or server_tls_ciphers ({@code value}, an OpenSSL list) applied to the
     * JDK's default suites {@code defaults}: its TLS 1.3 suites kept, its older ones replaced by
     * those the list selects.
     */
    public static String[] tls12(String setting, String value, String[] defaults) throws TlsConfigException {
        List<String> all = List.of(defaults);
        List<String> out = new ArrayList<>(all.stream().filter(TLS13::contains).toList());
        out.addAll(OpenSslCiphers.select(setting, value, all));
        all.stream().filter(s -> s.endsWith("_SCSV")).forEach(out::add);
        return out.toArray(String[]::new);
    }

    /**
     * The suites an engine enables: {@code tls13} in place of the default TLS 1.3 suites, and the
     * default suites of older protocols as they are.
     */
    public static String[] enabled(String[] defaults, List<String> tls13) {
        if (tls13 == null) {
            return defaults;
        }
        List<String> out = new ArrayList<>(tls13);
        for (String s : defaults) {
            if (!TLS13.contains(s)) {
                out.add(s);
            }
        }
        return out.toArray(String[]::new);
    }
}
