package io.pgloom.wire.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Socket;
import jdk.net.ExtendedSocketOptions;
import org.junit.jupiter.api.Test;

class TcpTuningTest {

    @Test
    void setsKeepaliveTimingsAndBuffers() throws Exception {
        try (Socket s = new Socket()) {
            new TcpTuning(true, 37, 7, 4, 65536).apply(s);
            assertTrue(s.getTcpNoDelay());
            assertTrue(s.getKeepAlive());
            assertEquals(37, s.getOption(ExtendedSocketOptions.TCP_KEEPIDLE));
            assertEquals(7, s.getOption(ExtendedSocketOptions.TCP_KEEPINTERVAL));
            assertEquals(4, s.getOption(ExtendedSocketOptions.TCP_KEEPCOUNT));
            // Linux doubles the size asked for (bookkeeping overhead); at least what was asked.
            assertTrue(s.getReceiveBufferSize() >= 65536, "receive buffer " + s.getReceiveBufferSize());
            assertTrue(s.getSendBufferSize() >= 65536, "send buffer " + s.getSendBufferSize());
        }
    }

    @Test
    void zeroLeavesTheSystemDefaultsAndKeepaliveOffSetsNoTimings() throws Exception {
        try (Socket plain = new Socket(); Socket tuned = new Socket()) {
            new TcpTuning(false, 37, 7, 4, 0).apply(tuned);
            assertFalse(tuned.getKeepAlive());
            assertEquals(plain.getOption(ExtendedSocketOptions.TCP_KEEPIDLE), tuned.getOption(ExtendedSocketOptions.TCP_KEEPIDLE),
                    "as in PgBouncer, the timings are set only with tcp_keepalive on");
            assertEquals(plain.getReceiveBufferSize(), tuned.getReceiveBufferSize());
            TcpTuning.DEFAULT.apply(tuned);
            assertTrue(tuned.getKeepAlive());
            assertEquals(plain.getOption(ExtendedSocketOptions.TCP_KEEPCOUNT), tuned.getOption(ExtendedSocketOptions.TCP_KEEPCOUNT));
        }
    }
}
