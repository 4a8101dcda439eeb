import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Reads JSON into Map, List, String, Double, Boolean and null: enough for a Grafana dashboard. */
final class JsonReader {
    private final String s;
    private int i;

    private JsonReader(String s) {
        this.s = s;
    }

    static Object read(String text) {
        return new JsonReader(text).value();
    }

    private Object value() {
        skip();
        char c = s.charAt(i);
        if (c == '{') {
            Map<String, Object> m = new LinkedHashMap<>();
            i++;
            while (!next('}')) {
                next(',');
                skip();
                String key = text();
                next(':');
                m.put(key, value());
            }
            return m;
        }
        if (c == '[') {
            List<Object> l = new ArrayList<>();
            i++;
            while (!next(']')) {
                next(',');
                l.add(value());
            }
            return l;
        }
        if (c == '"') {
            return text();
        }
        int start = i;
        while (i < s.length() && ",}] \n\r\t".indexOf(s.charAt(i)) < 0) {
            i++;
        }
        String word = s.substring(start, i);
        return switch (word) {
            case "true" -> Boolean.TRUE;
            case "false" -> Boolean.FALSE;
            case "null" -> null;
            default -> Double.valueOf(word);
        };
    }

    private String text() {
        StringBuilder b = new StringBuilder();
        for (i++; s.charAt(i) != '"'; i++) {
            char c = s.charAt(i);
            if (c == '\\') {
                c = s.charAt(++i);
                if (c == 'u') {
                    c = (char) Integer.parseInt(s.substring(i + 1, i + 5), 16);
                    i += 4;
                } else {
                    c = switch (c) {
                        case 'n' -> '\n';
                        case 't' -> '\t';
                        case 'r' -> '\r';
                        case 'b' -> '\b';
                        case 'f' -> '\f';
                        default -> c;
                    };
                }
            }
            b.append(c);
        }
        i++;
        return b.toString();
    }

    private boolean next(char c) {
        skip();
        if (s.charAt(i) == c) {
            i++;
            return true;
        }
        return false;
    }

    private void skip() {
        while (Character.isWhitespace(s.charAt(i))) {
            i++;
        }
    }
}
