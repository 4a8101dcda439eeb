package io.pgloom.tests;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** An admin console answer read with {@link RawClient}: column names and type OIDs, and rows as text. */
record ConsoleResult(List<String> columns, List<Integer> types, List<Map<String, String>> rows,
                     RawClient.Message error) {

    static ConsoleResult of(List<RawClient.Message> messages) {
        List<String> columns = new ArrayList<>();
        List<Integer> types = new ArrayList<>();
        List<Map<String, String>> rows = new ArrayList<>();
        RawClient.Message error = null;
        for (RawClient.Message m : messages) {
            ByteBuffer b = ByteBuffer.wrap(m.body());
            switch (m.type()) {
                case 'T' -> {
                    int n = b.getShort();
                    for (int i = 0; i < n; i++) {
                        int start = b.position();
                        while (b.get() != 0) {
                            // skip the name
                        }
                        columns.add(new String(m.body(), start, b.position() - start - 1, StandardCharsets.UTF_8));
                        b.getInt();
                        b.getShort();
                        types.add(b.getInt());
                        b.getShort();
                        b.getInt();
                        b.getShort();
                    }
                }
                case 'D' -> {
                    int n = b.getShort();
                    Map<String, String> row = new LinkedHashMap<>();
                    for (int i = 0; i < n; i++) {
                        int len = b.getInt();
                        String v = null;
                        if (len >= 0) {
                            v = new String(m.body(), b.position(), len, StandardCharsets.UTF_8);
                            b.position(b.position() + len);
                        }
                        row.put(columns.get(i), v);
                    }
                    rows.add(row);
                }
                case 'E' -> error = m;
                default -> { }
            }
        }
        return new ConsoleResult(columns, types, rows, error);
    }

    /** The rows whose {@code column} equals {@code value}. */
    List<Map<String, String>> where(String column, String value) {
        return rows.stream().filter(r -> value.equals(r.get(column))).toList();
    }

    /** The one row whose {@code column} equals {@code value}. */
    Map<String, String> row(String column, String value) {
        List<Map<String, String>> found = where(column, value);
        if (found.size() != 1) {
            throw new AssertionError("expected one row with " + column + " = " + value + ", got " + found + " in " + rows);
        }
        return found.getFirst();
    }

    /** Runs {@code sql} on a logged-in console client. */
    static ConsoleResult query(RawClient console, String sql) throws java.io.IOException {
        return of(console.simpleQuery(sql));
    }
}
