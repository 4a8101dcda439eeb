package io.pgloom.wire.tls;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * client_tls_protocols and server_tls_protocols: PgBouncer's (libtls') protocol list, such as
 * {@code secure}, {@code all}, {@code tlsv1.2,tlsv1.3} or {@code all:!tlsv1.0}, as the JDK's
 * protocol names. The JDK itself disables TLS 1.0 and 1.1 (jdk.tls.disabledAlgorithms in
 * java.security), so asking for them only has an effect where that file allows them.
 */
public final class TlsProtocols {
    private static final List<String> ALL = List.of("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3");
    private static final List<String> SECURE = List.of("TLSv1.2", "TLSv1.3");

    private TlsProtocols() {
    }

    /** The JDK names, oldest first; throws naming {@code setting} and the word it does not know. */
    public static String[] parse(String setting, String value) throws TlsConfigException {
        Set<String> on = new LinkedHashSet<>();
        for (String word : value.toLowerCase(Locale.ROOT).split("[,:\\s]+")) {
            if (word.isEmpty()) {
                continue;
            }
            boolean off = word.startsWith("!") || word.startsWith("-");
            List<String> names = names(setting, off ? word.substring(1) : word);
            if (off) {
                names.forEach(on::remove);
            } else {
                on.addAll(names);
            }
        }
        if (on.isEmpty()) {
            throw new TlsConfigException(setting + " = " + value + ": no protocol left to use");
        }
        return ALL.stream().filter(on::contains).toArray(String[]::new);
    }

    private static List<String> names(String setting, String word) throws TlsConfigException {
        return switch (word) {
            case "all", "legacy" -> ALL;
            case "secure", "default" -> SECURE;
            case "tlsv1", "tlsv1.0" -> List.of("TLSv1");
            case "tlsv1.1" -> List.of("TLSv1.1");
            case "tlsv1.2" -> List.of("TLSv1.2");
            case "tlsv1.3" -> List.of("TLSv1.3");
            default -> throw new TlsConfigException(setting + ": unknown protocol \"" + word
                    + "\" (use all, secure, legacy, tlsv1.0, tlsv1.1, tlsv1.2 or tlsv1.3)");
        };
    }
}
