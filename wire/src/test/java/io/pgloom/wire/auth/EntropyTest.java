package io.pgloom.wire.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

/** Bytes handed out from the block buffer: never twice, in any length, from many threads at once. */
class EntropyTest {
    @Test
    void noBytesAreHandedOutTwiceAcrossBlocks() {
        // 8-byte draws over several 4 KiB blocks, and odd lengths that straddle a block's end:
        // a repeated 64-bit value would mean a block (or its tail) was handed out again.
        Set<Long> seen = new HashSet<>();
        for (int i = 0; i < 5000; i++) {
            byte[] b = Entropy.bytes(8);
            long v = 0;
            for (byte x : b) {
                v = v << 8 | (x & 0xFF);
            }
            assertTrue(seen.add(v), "value " + Long.toHexString(v) + " came twice, draw " + i);
            Entropy.bytes(i % 7); // lengths 0..6 shift the alignment
        }
    }

    @Test
    void longerThanOneBlockIsFilledWhole() {
        byte[] big = Entropy.bytes(3 * 4096 + 17);
        int[] counts = new int[256];
        for (byte b : big) {
            counts[b & 0xFF]++;
        }
        for (int c : counts) {
            assertTrue(c > 0 && c < 150, "every byte value about 48 times in 12305 bytes, got " + c);
        }
    }

    @Test
    void concurrentDrawsAreDistinct() throws Exception {
        Set<Long> seen = ConcurrentHashMap.newKeySet();
        int threads = 8;
        int each = 2000;
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int t = 0; t < threads; t++) {
                pool.submit(() -> {
                    for (int i = 0; i < each; i++) {
                        seen.add((long) Entropy.nextInt() << 32 | (Entropy.nextInt() & 0xFFFFFFFFL));
                    }
                });
            }
        }
        assertEquals(threads * each, seen.size());
    }
}
