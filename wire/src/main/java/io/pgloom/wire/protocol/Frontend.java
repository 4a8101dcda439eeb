package io.pgloom.wire.protocol;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Requests pgloom itself sends to a server (as opposed to client traffic it relays untouched). */
public final class Frontend {

    private Frontend() {
    }

    /**
     * One statement with text parameters over the extended protocol, unnamed statement and portal:
     * Parse, Bind, Describe (portal), Execute, Sync. The parameters travel apart from the SQL, so a
     * user name is never spliced into a query (PgBouncer sends auth_query the same way). The answer
     * ends with one ReadyForQuery.
     */
    public static byte[] extendedQuery(String sql, String... params) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(128 + sql.length());
        out.writeBytes(new MessageBuilder('P').cstring("").cstring(sql).int16(0).build());
        MessageBuilder bind = new MessageBuilder('B').cstring("").cstring("").int16(0).int16(params.length);
        for (String p : params) {
            if (p == null) {
                bind.int32(-1);
            } else {
                byte[] value = p.getBytes(StandardCharsets.UTF_8);
                bind.int32(value.length).bytes(value);
            }
        }
        out.writeBytes(bind.int16(0).build()); // no result format codes: every column as text
        out.writeBytes(new MessageBuilder('D').byte1('P').cstring("").build());
        out.writeBytes(new MessageBuilder('E').cstring("").int32(0).build());
        out.writeBytes(new MessageBuilder('S').build());
        return out.toByteArray();
    }

    /** A simple-protocol Query. */
    public static byte[] query(String sql) {
        return new MessageBuilder('Q').cstring(sql).build();
    }
}
