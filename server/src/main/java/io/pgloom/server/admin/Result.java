package io.pgloom.server.admin;

import io.pgloom.wire.protocol.ErrorResponse;
import io.pgloom.wire.protocol.MessageBuilder;
import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * What one console command answers: an optional result set (columns with the PostgreSQL types
 * PgBouncer sends, and rows), optional notices, and the command tag.
 */
final class Result {
    /** The column types PgBouncer's console uses ({@code pktbuf_write_RowDescription}). */
    enum Type {
        TEXT(25, -1), INT4(23, 4), INT8(20, 8), NUMERIC(1700, -1);

        final int oid;
        final int size;

        Type(int oid, int size) {
            this.oid = oid;
            this.size = size;
        }
    }

    record Column(String name, Type type) {
    }

    private final List<Column> columns;
    private final List<Object[]> rows = new ArrayList<>();
    private final List<byte[]> notices = new ArrayList<>();
    private final String tag;
    /** What to do once this reply has been sent (SHUTDOWN); null for nothing. */
    private Runnable afterReply;

    private Result(List<Column> columns, String tag) {
        this.columns = columns;
        this.tag = tag;
    }

    /** A result set; {@code spec} lists "name:type" pairs, type one of s (text), i (int4), q (int8), N (numeric). */
    static Result rows(String... spec) {
        List<Column> cols = new ArrayList<>();
        for (String s : spec) {
            int colon = s.lastIndexOf(':');
            Type t = switch (s.substring(colon + 1)) {
                case "s" -> Type.TEXT;
                case "i" -> Type.INT4;
                case "q" -> Type.INT8;
                case "N" -> Type.NUMERIC;
                default -> throw new IllegalArgumentException("bad column type in " + s);
            };
            cols.add(new Column(s.substring(0, colon), t));
        }
        return new Result(List.copyOf(cols), "SHOW");
    }

    /** No result set, just a tag (and perhaps notices). */
    static Result tag(String tag) {
        return new Result(null, tag);
    }

    /** Adds a row; values are String, Integer or Long (null for SQL NULL), one per column. */
    Result row(Object... values) {
        if (values.length != columns.size()) {
            throw new IllegalArgumentException("row of " + values.length + " values for " + columns.size() + " columns");
        }
        rows.add(values);
        return this;
    }

    Result notice(String message, String detail) {
        notices.add(new ErrorResponse("NOTICE", "00000", message, detail).encode());
        return this;
    }

    Result afterReply(Runnable action) {
        this.afterReply = action;
        return this;
    }

    Runnable afterReply() {
        return afterReply;
    }

    String tag() {
        return tag;
    }

    List<Column> columns() {
        return columns;
    }

    List<Object[]> rowValues() {
        return rows;
    }

    boolean hasRows() {
        return columns != null;
    }

    /** RowDescription; {@code binary[i]} says whether column i goes in binary format (extended protocol). */
    byte[] rowDescription(boolean[] binary) {
        MessageBuilder m = new MessageBuilder('T').int16(columns.size());
        for (int i = 0; i < columns.size(); i++) {
            Column c = columns.get(i);
            m.cstring(c.name()).int32(0).int16(0).int32(c.type().oid).int16(c.type().size).int32(-1)
                    .int16(binary != null && binary[i] ? 1 : 0);
        }
        return m.build();
    }

    /** Notices, DataRows and CommandComplete (not the RowDescription). */
    byte[] body(boolean[] binary) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        notices.forEach(out::writeBytes);
        if (columns != null) {
            for (Object[] row : rows) {
                MessageBuilder m = new MessageBuilder('D').int16(row.length);
                for (int i = 0; i < row.length; i++) {
                    byte[] v = encode(row[i], columns.get(i).type(), binary != null && binary[i]);
                    if (v == null) {
                        m.int32(-1);
                    } else {
                        m.int32(v.length).bytes(v);
                    }
                }
                out.writeBytes(m.build());
            }
        }
        out.writeBytes(new MessageBuilder('C').cstring(tag).build());
        return out.toByteArray();
    }

    private static byte[] encode(Object value, Type type, boolean binary) {
        if (value == null) {
            return null;
        }
        if (!binary || type == Type.TEXT) {
            return value.toString().getBytes(StandardCharsets.UTF_8);
        }
        long v = ((Number) value).longValue();
        return switch (type) {
            case INT4 -> ByteBuffer.allocate(4).putInt((int) v).array();
            case INT8 -> ByteBuffer.allocate(8).putLong(v).array();
            case NUMERIC -> numericBinary(v);
            case TEXT -> throw new AssertionError();
        };
    }

    /** PostgreSQL's binary numeric: ndigits, weight, sign, dscale, then base-10000 digits. */
    private static byte[] numericBinary(long value) {
        BigInteger v = BigInteger.valueOf(value).abs();
        List<Integer> digits = new ArrayList<>();
        BigInteger tenThousand = BigInteger.valueOf(10_000);
        while (v.signum() > 0) {
            BigInteger[] qr = v.divideAndRemainder(tenThousand);
            digits.addFirst(qr[1].intValue());
            v = qr[0];
        }
        while (!digits.isEmpty() && digits.getLast() == 0) {
            digits.removeLast(); // trailing zero groups are implied by the weight
        }
        int weight = digits.isEmpty() ? 0 : countGroups(value) - 1;
        ByteBuffer b = ByteBuffer.allocate(8 + 2 * digits.size());
        b.putShort((short) digits.size()).putShort((short) weight).putShort((short) (value < 0 ? 0x4000 : 0)).putShort((short) 0);
        digits.forEach(d -> b.putShort(d.shortValue()));
        return b.array();
    }

    private static int countGroups(long value) {
        int n = 0;
        for (BigInteger v = BigInteger.valueOf(value).abs(); v.signum() > 0; v = v.divide(BigInteger.valueOf(10_000))) {
            n++;
        }
        return n;
    }
}
