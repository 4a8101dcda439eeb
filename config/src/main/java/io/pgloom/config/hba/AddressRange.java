package io.pgloom.config.hba;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.regex.Pattern;

/**
 * The address field of a host rule: {@code all}, or an IPv4/IPv6 network written in CIDR form
 * ({@code 10.0.0.0/8}) or as an address and a netmask ({@code 10.0.0.0 255.0.0.0}). Host names,
 * {@code samehost} and {@code samenet} are refused, as PgBouncer refuses them.
 *
 * @param base the network address; null for {@code all}
 * @param mask the netmask, as many bytes as {@code base}; null for {@code all}
 */
public record AddressRange(byte[] base, byte[] mask) {

    /** Every address. */
    public static final AddressRange ALL = new AddressRange(null, null);

    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*");

    /** True if {@code address} is in this range. An IPv4 client never matches an IPv6 range, nor the reverse. */
    public boolean matches(InetAddress address) {
        if (base == null) {
            return true;
        }
        byte[] client = address.getAddress();
        if (client.length != base.length) {
            return false;
        }
        for (int i = 0; i < client.length; i++) {
            // PgBouncer's test: the base is not masked, so a base with host bits set matches nothing.
            if ((client[i] & mask[i]) != base[i]) {
                return false;
            }
        }
        return true;
    }

    /** True if the base address has bits set outside the mask: such a rule matches no client. */
    boolean hasHostBits() {
        if (base == null) {
            return false;
        }
        for (int i = 0; i < base.length; i++) {
            if ((base[i] & ~mask[i]) != 0) {
                return true;
            }
        }
        return false;
    }

    /** {@code address/bits}; {@code bits} is null when the netmask comes in the next field. */
    static AddressRange parse(String address, String bits, String netmask) {
        byte[] base = literal(address, "address");
        byte[] mask;
        if (bits != null) {
            mask = prefixMask(base.length, bits);
        } else {
            mask = literal(netmask, "netmask");
            if (mask.length != base.length) {
                throw new IllegalArgumentException("the netmask " + netmask + " is not of the same IP version as "
                        + address);
            }
        }
        return new AddressRange(base, mask);
    }

    /** The bytes of an IP address literal; never a DNS lookup, which InetAddress would do for a name. */
    static byte[] literal(String text, String what) {
        boolean v4 = IPV4.matcher(text).matches();
        if (v4) {
            for (String octet : text.split("\\.")) {
                if (Integer.parseInt(octet) > 255) {
                    throw new IllegalArgumentException("invalid IPv4 " + what + " '" + text + "'");
                }
            }
        } else if (!IPV6.matcher(text).matches()) {
            throw new IllegalArgumentException("invalid " + what + " '" + text + "': expected an IPv4 or IPv6 address"
                    + ("address".equals(what) ? " (host names are not supported)" : ""));
        }
        try {
            InetAddress parsed = InetAddress.getByName(text);
            if (!v4 && parsed instanceof Inet4Address) {
                throw new IllegalArgumentException("write the IPv4-mapped " + what + " '" + text + "' as IPv4");
            }
            return parsed.getAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("invalid IPv6 " + what + " '" + text + "'");
        }
    }

    private static byte[] prefixMask(int bytes, String bits) {
        int prefix;
        try {
            prefix = bits.chars().allMatch(Character::isDigit) ? Integer.parseInt(bits) : -1;
        } catch (NumberFormatException e) {
            prefix = -1;
        }
        if (prefix < 0 || prefix > bytes * 8) {
            throw new IllegalArgumentException("invalid prefix length /" + bits + ": expected 0 to " + bytes * 8);
        }
        byte[] mask = new byte[bytes];
        for (int i = 0; i < bytes; i++) {
            int left = Math.min(8, Math.max(0, prefix - i * 8));
            mask[i] = (byte) (0xff << (8 - left));
        }
        return mask;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AddressRange r && Arrays.equals(base, r.base) && Arrays.equals(mask, r.mask);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(base) + Arrays.hashCode(mask);
    }

    @Override
    public String toString() {
        if (base == null) {
            return "all";
        }
        try {
            return InetAddress.getByAddress(base).getHostAddress() + " mask " + InetAddress.getByAddress(mask).getHostAddress();
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
