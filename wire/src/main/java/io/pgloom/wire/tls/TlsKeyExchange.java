package io.pgloom.wire.tls;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * client_tls_dheparams and client_tls_ecdhcurve as far as JSSE can apply them per connection:
 * which key-exchange families stay on (the suites of TLS 1.2, the named groups of TLS 1.3) and
 * which elliptic curve is offered.
 *
 * <ul>
 *   <li>dheparams {@code auto} (the default) and {@code legacy} keep finite-field Diffie-Hellman;
 *       JSSE's own parameters are 2048 bits or more either way (1024-bit DH, legacy's, is refused
 *       by the JDK's security policy), so legacy gives auto's stronger keys. {@code none} turns
 *       DHE off: no TLS_DHE suites, no ffdhe groups.</li>
 *   <li>ecdhcurve {@code auto} (the default) keeps the JDK's curves (x25519, secp256r1,
 *       secp384r1, secp521r1, x448); a curve name offers that curve only, in OpenSSL's or the
 *       JDK's spelling ({@code prime256v1}, {@code secp384r1}, {@code X25519}...); {@code none}
 *       turns ECDHE off.</li>
 * </ul>
 *
 * @param dhe         whether finite-field DH stays
 * @param ecdhe       whether elliptic-curve DH stays
 * @param curve       the one curve to offer (a JDK named group); null: the JDK's curves
 */
public record TlsKeyExchange(boolean dhe, boolean ecdhe, String curve) {
    /** The JDK's defaults: both families, every curve. */
    public static final TlsKeyExchange DEFAULT = new TlsKeyExchange(true, true, null);

    /** The settings' values; throws naming the setting and the value it does not know. */
    public static TlsKeyExchange parse(String dheparams, String ecdhcurve) throws TlsConfigException {
        boolean dhe = switch (dheparams.strip().toLowerCase(Locale.ROOT)) {
            case "", "auto", "legacy" -> true;
            case "none" -> false;
            default -> throw new TlsConfigException("client_tls_dheparams: unknown value \"" + dheparams
                    + "\" (use none, auto or legacy; custom DH parameter files are not supported by the JDK)");
        };
        String c = ecdhcurve.strip().toLowerCase(Locale.ROOT);
        boolean ecdhe = !c.equals("none");
        String curve = switch (c) {
            case "", "auto", "none" -> null;
            case "prime256v1", "secp256r1", "p-256" -> "secp256r1";
            case "secp384r1", "p-384" -> "secp384r1";
            case "secp521r1", "p-521" -> "secp521r1";
            case "x25519" -> "x25519";
            case "x448" -> "x448";
            default -> throw new TlsConfigException("client_tls_ecdhcurve: unknown curve \"" + ecdhcurve
                    + "\" (use auto, none, prime256v1, secp384r1, secp521r1, X25519 or X448)");
        };
        if (!dhe && !ecdhe) {
            throw new TlsConfigException("client_tls_dheparams = none and client_tls_ecdhcurve = none leave no key exchange:"
                    + " TLS 1.3 needs one of them");
        }
        return new TlsKeyExchange(dhe, ecdhe, curve);
    }

    /** {@code suites} without the TLS 1.2 suites of a family turned off. */
    String[] suites(String[] suites) {
        List<String> out = new ArrayList<>();
        for (String s : suites) {
            if ((!dhe && s.startsWith("TLS_DHE_")) || (!ecdhe && s.startsWith("TLS_ECDHE_"))) {
                continue;
            }
            out.add(s);
        }
        return out.toArray(String[]::new);
    }

    /** The named groups to offer, from the JDK's {@code defaults}; null when they stay as they are. */
    String[] groups(String[] defaults) {
        if (equals(DEFAULT)) {
            return null;
        }
        List<String> out = new ArrayList<>();
        if (curve != null) {
            out.add(curve);
        }
        for (String g : defaults) {
            boolean ffdhe = g.startsWith("ffdhe");
            if (ffdhe ? dhe : (ecdhe && curve == null)) {
                out.add(g);
            }
        }
        return out.toArray(String[]::new);
    }
}
