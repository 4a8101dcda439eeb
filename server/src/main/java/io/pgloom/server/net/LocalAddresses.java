package io.pgloom.server.net;

import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One String per local address that clients connect to, shared by all their connections: an idle
 * client then holds no address text of its own, and a new connection formats nothing. Cheaper
 * than {@link String#intern}, which goes through the JVM's string table on every accept.
 * Bounded: past {@value #MAX} addresses (a listener on a wildcard address of a host with many
 * addresses) the text is made per connection, and so it is for IPv6 link-local addresses, whose
 * text carries a scope that {@link InetAddress#equals} does not compare.
 */
final class LocalAddresses {
    private static final int MAX = 256;
    private static final ConcurrentHashMap<InetAddress, String> TEXT = new ConcurrentHashMap<>();

    private LocalAddresses() {
    }

    static String text(InetAddress address) {
        String text = TEXT.get(address);
        if (text == null) {
            text = address.getHostAddress();
            if (TEXT.size() < MAX && !address.isLinkLocalAddress()) {
                TEXT.putIfAbsent(address, text);
            }
        }
        return text;
    }
}
