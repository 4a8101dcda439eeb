package io.pgloom.server.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class LocalAddressesTest {
    @Test
    void oneSharedTextPerAddress() throws Exception {
        String a = LocalAddresses.text(InetAddress.getByName("127.0.0.1"));
        String b = LocalAddresses.text(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}));
        assertEquals("127.0.0.1", a);
        assertSame(a, b, "connections to one local address share its text");
        assertEquals("0:0:0:0:0:0:0:1", LocalAddresses.text(InetAddress.getByName("::1")));
    }

    @Test
    void linkLocalAddressesKeepTheirScope() throws Exception {
        byte[] fe80 = InetAddress.getByName("fe80::1").getAddress();
        String one = LocalAddresses.text(java.net.Inet6Address.getByAddress(null, fe80, 1));
        String two = LocalAddresses.text(java.net.Inet6Address.getByAddress(null, fe80, 2));
        assertEquals("fe80:0:0:0:0:0:0:1%1", one);
        assertEquals("fe80:0:0:0:0:0:0:1%2", two);
        assertNotSame(one, LocalAddresses.text(java.net.Inet6Address.getByAddress(null, fe80, 1)));
    }
}
