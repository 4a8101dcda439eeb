package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.net.Socket;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.management.ObjectName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What idle logged-in clients cost pgloom's heap. Idle clients are many (10,000 is an ordinary
 * day), so each must hold little: no big buffer, nothing left behind by its login. pgloom runs in
 * this JVM, so the live heap (class histograms, each after a full GC) shows what the clients hold.
 */
class IdleClientMemoryTest {
    /** Each costs two file descriptors in this JVM (both ends), well under a soft limit of 1024. */
    private static final int CLIENTS = 300;
    /**
     * Per idle client, server and client side of the socket together. Measured: 5 to 8 KB, mostly
     * the parked virtual thread's stack (larger while the JIT has not compiled the read path yet).
     * A buffer of a few KB per idle client would cross it.
     */
    private static final long MAX_BYTES_PER_CLIENT = 12_000;

    @ParameterizedTest
    @ValueSource(strings = {"md5", "scram-sha-256"})
    void idleClientsHoldLittleHeap(String authType) throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "auth_type = " + authType + "\nmax_client_conn = 1000\n")) {
            // A first login loads the classes and gives the pool its welcome parameters.
            try (RawClient first = new RawClient(p.port())) {
                first.login("alice", "alice-secret", "app");
                first.simpleQuery("SELECT 1");
            }
            Histogram before = Histogram.take();
            List<Socket> held = new ArrayList<>();
            try {
                for (int i = 0; i < CLIENTS; i++) {
                    // Keep only the socket: the test's own client objects should not count.
                    held.add(new RawClient(p.port()).login("alice", "alice-secret", "app").socket);
                }
                Histogram with = Histogram.take();
                long perClient = (with.bytes - before.bytes) / CLIENTS;
                assertTrue(perClient < MAX_BYTES_PER_CLIENT, "live heap per idle " + authType + " client: "
                        + perClient + " bytes\n" + with.top(15));
                // MessageDigest.getInstance/Mac.getInstance on a client's thread would leave a provider
                // lookup ThreadLocal (a Provider$ServiceKey) on it for as long as the client stays.
                long serviceKeys = with.instances("java.security.Provider$ServiceKey")
                        - before.instances("java.security.Provider$ServiceKey");
                assertTrue(serviceKeys < CLIENTS / 10, serviceKeys + " provider lookup keys for " + CLIENTS
                        + " idle " + authType + " clients: the login left thread-locals on the client threads");
            } finally {
                for (Socket s : held) {
                    s.close();
                }
            }
        }
    }

    /** A class histogram of the live heap (GC.class_histogram, which runs a full GC first). */
    private record Histogram(long bytes, Map<String, Long> instancesByClass, String text) {
        static Histogram take() throws Exception {
            String text = (String) ManagementFactory.getPlatformMBeanServer().invoke(
                    new ObjectName("com.sun.management:type=DiagnosticCommand"), "gcClassHistogram",
                    new Object[] {new String[0]}, new String[] {String[].class.getName()});
            long total = -1;
            Map<String, Long> instances = new HashMap<>();
            for (String line : text.split("\n")) {
                String[] f = line.trim().split("\\s+");
                if (f.length >= 3 && f[0].equals("Total")) {
                    total = Long.parseLong(f[2]);
                } else if (f.length >= 4 && f[0].endsWith(":")) {
                    instances.merge(f[3], Long.parseLong(f[1]), Long::sum);
                }
            }
            assertTrue(total > 0, "no total in the class histogram:\n" + text);
            return new Histogram(total, instances, text);
        }

        long instances(String className) {
            return instancesByClass.getOrDefault(className, 0L);
        }

        String top(int lines) {
            return String.join("\n", text.lines().limit(lines + 3).toList());
        }
    }
}
