package io.pgloom.tests;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4): every line must be a
 * HELP, a TYPE or a sample; a family's TYPE comes once and before its samples; a sample's name
 * must belong to the family its TYPE announced (histograms: _bucket with le, _sum, _count); no
 * series appears twice; values are Go floats (NaN, +Inf, -Inf allowed). Anything else throws.
 */
final class Exposition {
    private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
    private static final Set<String> TYPES = Set.of("counter", "gauge", "histogram", "summary", "untyped");

    /** One sample: its name, labels (sorted by name) and value. */
    record Sample(String name, Map<String, String> labels, double value) {
    }

    /** Family name to its TYPE. */
    final Map<String, String> types = new LinkedHashMap<>();
    final List<Sample> samples = new ArrayList<>();

    static Exposition parse(String text) {
        Exposition e = new Exposition();
        if (!text.isEmpty() && !text.endsWith("\n")) {
            throw new IllegalArgumentException("the exposition must end with a newline");
        }
        Set<String> helped = new HashSet<>();
        Set<String> seriesSeen = new HashSet<>();
        String family = null;
        int lineNo = 0;
        for (String line : text.split("\n", -1)) {
            lineNo++;
            if (lineNo > 1 && line.isEmpty() && lineNo == text.split("\n", -1).length) {
                break; // after the final newline
            }
            String where = "line " + lineNo + ": " + line;
            if (line.startsWith("# HELP ")) {
                String rest = line.substring(7);
                int sp = rest.indexOf(' ');
                String name = sp < 0 ? rest : rest.substring(0, sp);
                require(NAME.matcher(name).matches(), "bad metric name in HELP, " + where);
                require(helped.add(name), "second HELP for " + name + ", " + where);
            } else if (line.startsWith("# TYPE ")) {
                String[] parts = line.substring(7).split(" ");
                require(parts.length == 2 && NAME.matcher(parts[0]).matches() && TYPES.contains(parts[1]), "bad TYPE, " + where);
                require(!e.types.containsKey(parts[0]), "second TYPE for " + parts[0] + ", " + where);
                e.types.put(parts[0], parts[1]);
                family = parts[0];
            } else if (line.startsWith("#")) {
                throw new IllegalArgumentException("unexpected comment, " + where);
            } else {
                Sample s = sample(line, where);
                require(family != null && belongs(s, family, e.types.get(family)),
                        "sample outside its family (TYPE " + family + "), " + where);
                require(seriesSeen.add(s.name() + s.labels()), "series given twice, " + where);
                e.samples.add(s);
            }
        }
        return e;
    }

    private static boolean belongs(Sample s, String family, String type) {
        return switch (type) {
            case "histogram" -> s.name().equals(family + "_bucket") && s.labels().containsKey("le")
                    || s.name().equals(family + "_sum") || s.name().equals(family + "_count");
            case "summary" -> s.name().equals(family) && s.labels().containsKey("quantile")
                    || s.name().equals(family + "_sum") || s.name().equals(family + "_count");
            default -> s.name().equals(family);
        };
    }

    private static Sample sample(String line, String where) {
        Matcher m = NAME.matcher(line);
        require(m.lookingAt(), "bad sample name, " + where);
        String name = m.group();
        int i = m.end();
        Map<String, String> labels = new TreeMap<>();
        if (i < line.length() && line.charAt(i) == '{') {
            i++;
            while (line.charAt(i) != '}') {
                Matcher ln = LABEL_NAME.matcher(line).region(i, line.length());
                require(ln.lookingAt(), "bad label name, " + where);
                String label = ln.group();
                i = ln.end();
                require(line.startsWith("=\"", i), "label without =\", " + where);
                i += 2;
                StringBuilder v = new StringBuilder();
                while (line.charAt(i) != '"') {
                    char c = line.charAt(i++);
                    if (c == '\\') {
                        char n = line.charAt(i++);
                        require(n == '\\' || n == '"' || n == 'n', "bad escape in label value, " + where);
                        v.append(n == 'n' ? '\n' : n);
                    } else {
                        v.append(c);
                    }
                }
                i++;
                require(labels.put(label, v.toString()) == null, "label given twice, " + where);
                if (line.charAt(i) == ',') {
                    i++;
                }
            }
            i++;
        }
        require(i < line.length() && line.charAt(i) == ' ', "no space before the value, " + where);
        String[] rest = line.substring(i + 1).split(" ");
        require(rest.length == 1 || rest.length == 2 && rest[1].matches("-?[0-9]+"), "bad value or timestamp, " + where);
        return new Sample(name, labels, value(rest[0], where));
    }

    private static double value(String v, String where) {
        switch (v) {
            case "NaN":
                return Double.NaN;
            case "+Inf":
                return Double.POSITIVE_INFINITY;
            case "-Inf":
                return Double.NEGATIVE_INFINITY;
            default:
                require(v.matches("[-+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][-+]?[0-9]+)?"), "bad value " + v + ", " + where);
                return Double.parseDouble(v);
        }
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** The value of the one sample named {@code name} whose labels include {@code labels}; NaN if none. */
    double value(String name, Map<String, String> labels) {
        List<Sample> found = samples.stream()
                .filter(s -> s.name().equals(name) && s.labels().entrySet().containsAll(labels.entrySet())).toList();
        if (found.size() > 1) {
            throw new AssertionError("more than one " + name + " with " + labels + ": " + found);
        }
        return found.isEmpty() ? Double.NaN : found.getFirst().value();
    }
}
