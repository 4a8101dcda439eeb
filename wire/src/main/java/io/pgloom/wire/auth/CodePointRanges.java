package io.pgloom.wire.auth;

import java.util.Arrays;

/**
 * A set of Unicode code points held as sorted, disjoint, inclusive ranges, looked up by binary
 * search. Immutable; safe from any thread.
 */
final class CodePointRanges {
    /** lo0, hi0, lo1, hi1, ... ascending, with hi(n) + 1 < lo(n+1). */
    private final int[] bounds;

    private CodePointRanges(int[] bounds) {
        this.bounds = bounds;
    }

    /**
     * Parses whitespace-separated hex tokens, each a single code point ({@code 00AD}) or an
     * inclusive range ({@code 180B-180D}), in ascending order.
     *
     * @throws IllegalArgumentException on a malformed token or ranges out of order or overlapping
     */
    static CodePointRanges parse(String table) {
        String[] tokens = table.strip().split("\\s+");
        int[] bounds = new int[tokens.length * 2];
        int previousHi = -1;
        for (int i = 0; i < tokens.length; i++) {
            String token = tokens[i];
            int dash = token.indexOf('-');
            int lo = Integer.parseInt(dash < 0 ? token : token.substring(0, dash), 16);
            int hi = dash < 0 ? lo : Integer.parseInt(token.substring(dash + 1), 16);
            if (lo > hi || lo <= previousHi || hi > Character.MAX_CODE_POINT) {
                throw new IllegalArgumentException("code point ranges out of order at " + token);
            }
            bounds[2 * i] = lo;
            bounds[2 * i + 1] = hi;
            previousHi = hi;
        }
        return new CodePointRanges(bounds);
    }

    boolean contains(int codePoint) {
        // Search the range starts; a miss gives the insertion point, so the candidate range is
        // the one starting just before it.
        int low = 0;
        int high = bounds.length / 2 - 1;
        while (low <= high) {
            int mid = (low + high) >>> 1;
            if (bounds[2 * mid] <= codePoint) {
                low = mid + 1;
            } else {
                high = mid - 1;
            }
        }
        return high >= 0 && codePoint <= bounds[2 * high + 1];
    }

    int rangeCount() {
        return bounds.length / 2;
    }

    @Override
    public String toString() {
        return "CodePointRanges" + Arrays.toString(bounds);
    }
}
