package io.pgloom.wire.tls;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Predicate;

/**
 * client_tls_ciphers and server_tls_ciphers: an OpenSSL cipher list for TLS 1.2, such as
 * {@code ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256}, {@code HIGH:!aNULL} or
 * libtls' {@code default}, turned into the JDK's suite names.
 *
 * <p>What is understood: OpenSSL's names of the suites the JDK offers (each JDK suite's OpenSSL
 * name is derived from its IANA name: {@code TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA} is
 * {@code ECDHE-RSA-AES128-SHA}); the groups HIGH, DEFAULT, ALL (every suite the JDK enables by
 * default, which are all strong), ECDHE/EECDH/kECDHE, DHE/EDH/kDHE, aRSA, aECDSA, aDSS, AES,
 * AES128, AES256, AESGCM, CHACHA20, SHA1, SHA256, SHA384, joined with {@code +}; terms removed
 * with {@code !} or {@code -}; libtls' words (default, secure, compat, legacy, insecure, all),
 * which leave the JDK's defaults. The weak groups OpenSSL lists (aNULL, eNULL, RC4, 3DES, MD5,
 * EXPORT, LOW, MEDIUM, PSK, SRP...) name suites the JDK never enables, so they select nothing,
 * and {@code !aNULL} is accepted as the no-op it is here. A name that is none of these is refused
 * with the name, rather than silently dropped.
 */
final class OpenSslCiphers {
    private static final Set<String> LIBTLS_WORDS = Set.of("default", "secure", "normal", "fast", "compat", "legacy",
            "insecure", "all");
    private static final Set<String> NOTHING_HERE = Set.of("anull", "enull", "null", "adh", "aecdh", "rc4", "des", "3des",
            "md5", "export", "exp", "low", "medium", "psk", "srp", "camellia", "seed", "idea", "aria", "krsa", "ecdh",
            "kecdh", "gost", "complementofdefault");

    private OpenSslCiphers() {
    }

    /**
     * The TLS 1.2 suites {@code value} selects from {@code jdkDefaults} (a JDK list that may hold TLS
     * 1.3 suites too, which are left out here), in the list's order.
     */
    static List<String> select(String setting, String value, List<String> jdkDefaults) throws TlsConfigException {
        List<String> tls12 = jdkDefaults.stream().filter(s -> s.contains("_WITH_")).toList();
        String trimmed = value.strip();
        if (trimmed.isEmpty() || LIBTLS_WORDS.contains(trimmed.toLowerCase(Locale.ROOT))) {
            return tls12;
        }
        Set<String> chosen = new LinkedHashSet<>();
        Set<String> banned = new HashSet<>();
        for (String term : trimmed.split("[:,\\s]+")) {
            if (term.isEmpty() || term.startsWith("@")) {
                continue; // @STRENGTH, @SECLEVEL=n: ordering and levels the JDK decides itself
            }
            char op = term.charAt(0);
            boolean remove = op == '!' || op == '-';
            String body = remove || op == '+' ? term.substring(1) : term;
            Predicate<String> p = matcher(setting, body);
            List<String> hits = tls12.stream().filter(p).toList();
            if (op == '!') {
                banned.addAll(hits);
                hits.forEach(chosen::remove);
            } else if (op == '-') {
                hits.forEach(chosen::remove);
            } else if (op != '+') {
                hits.stream().filter(s -> !banned.contains(s)).forEach(chosen::add);
            }
        }
        if (chosen.isEmpty()) {
            throw new TlsConfigException(setting + " = " + value + ": no TLS 1.2 cipher suite the JDK offers is left");
        }
        return new ArrayList<>(chosen);
    }

    /** One term: {@code A+B} matches what both match. */
    private static Predicate<String> matcher(String setting, String term) throws TlsConfigException {
        Predicate<String> all = s -> true;
        for (String part : term.split("\\+")) {
            all = all.and(single(setting, part));
        }
        return all;
    }

    private static Predicate<String> single(String setting, String word) throws TlsConfigException {
        String w = word.toLowerCase(Locale.ROOT);
        if (NOTHING_HERE.contains(w)) {
            return s -> false;
        }
        switch (w) {
            case "high", "default", "all" -> {
                return s -> true;
            }
            case "ecdhe", "eecdh", "kecdhe", "keecdh" -> {
                return s -> s.startsWith("TLS_ECDHE_");
            }
            case "dhe", "edh", "kdhe", "kedh" -> {
                return s -> s.startsWith("TLS_DHE_");
            }
            case "arsa", "rsa" -> {
                return s -> s.contains("_RSA_WITH_");
            }
            case "aecdsa", "ecdsa" -> {
                return s -> s.contains("_ECDSA_WITH_");
            }
            case "adss", "dss" -> {
                return s -> s.contains("_DSS_WITH_");
            }
            case "aes" -> {
                return s -> s.contains("_AES_");
            }
            case "aes128" -> {
                return s -> s.contains("_AES_128_");
            }
            case "aes256" -> {
                return s -> s.contains("_AES_256_");
            }
            case "aesgcm" -> {
                return s -> s.contains("_GCM_");
            }
            case "chacha20" -> {
                return s -> s.contains("_CHACHA20_");
            }
            case "sha1", "sha" -> {
                return s -> s.endsWith("_SHA");
            }
            case "sha256" -> {
                return s -> s.endsWith("_SHA256");
            }
            case "sha384" -> {
                return s -> s.endsWith("_SHA384");
            }
            default -> {
                String upper = word.toUpperCase(Locale.ROOT);
                if (upper.contains("-")) {
                    return s -> openSslName(s).equals(upper);
                }
                throw new TlsConfigException(setting + ": unknown cipher \"" + word + "\" (give OpenSSL suite names such as"
                        + " ECDHE-RSA-AES256-GCM-SHA384, or groups such as HIGH, ECDHE+AESGCM, !aNULL)");
            }
        }
    }

    /**
     * OpenSSL's name of a JDK (IANA) TLS 1.2 suite: {@code TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}
     * is {@code ECDHE-ECDSA-AES256-GCM-SHA384}, {@code TLS_DHE_RSA_WITH_AES_128_CBC_SHA} is
     * {@code DHE-RSA-AES128-SHA}, {@code TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256} is
     * {@code ECDHE-RSA-CHACHA20-POLY1305}; plain RSA key exchange has no prefix.
     */
    static String openSslName(String jdk) {
        int with = jdk.indexOf("_WITH_");
        if (!jdk.startsWith("TLS_") || with < 0) {
            return jdk;
        }
        String kx = jdk.substring(4, with);
        String cipher = jdk.substring(with + 6);
        String prefix = kx.equals("RSA") ? "" : kx.replace('_', '-') + "-";
        String body;
        if (cipher.startsWith("CHACHA20_POLY1305")) {
            body = "CHACHA20-POLY1305";
        } else {
            // AES_256_GCM_SHA384 -> AES256-GCM-SHA384; AES_128_CBC_SHA256 -> AES128-SHA256
            body = cipher.replaceFirst("^AES_(\\d+)_", "AES$1-").replace("CBC_", "").replace('_', '-');
        }
        return prefix + body;
    }
}
