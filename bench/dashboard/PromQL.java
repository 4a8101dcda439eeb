import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The part of PromQL pgloom.json uses, evaluated over a list of /metrics scrapes instead of a
 * Prometheus: selectors with matchers, rate() and increase() over a range, sum/max/min/avg by
 * (labels), histogram_quantile(). Grafana variables ($database...) match what --var set them to,
 * else everything; a range of $__rate_interval is {@code rateWindow} seconds.
 */
final class PromQL {
    /** One series: its labels (sorted) and value. */
    record Series(Map<String, String> labels, double value) {
    }

    /** One scrape: when, and its samples by metric name. */
    record Scrape(double seconds, Map<String, List<Series>> samples) {
        private static final Pattern SAMPLE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)})?\\s+(\\S+)(\\s+-?\\d+)?");
        private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:\\\\.|[^\"\\\\])*)\"");

        /** Reads the Prometheus text format (comments skipped). */
        static Scrape parse(double seconds, String text) {
            Map<String, List<Series>> samples = new HashMap<>();
            for (String line : text.split("\n")) {
                Matcher m = SAMPLE.matcher(line.strip());
                if (line.startsWith("#") || !m.matches()) {
                    continue;
                }
                Map<String, String> labels = new TreeMap<>();
                if (m.group(3) != null) {
                    Matcher l = LABEL.matcher(m.group(3));
                    while (l.find()) {
                        labels.put(l.group(1), l.group(2).replace("\\\"", "\"").replace("\\n", "\n").replace("\\\\", "\\"));
                    }
                }
                samples.computeIfAbsent(m.group(1), k -> new ArrayList<>()).add(new Series(labels, number(m.group(4))));
            }
            return new Scrape(seconds, samples);
        }
    }

    /** A parsed expression, evaluated at scrape {@code t} of {@code scrapes}. */
    interface Expr {
        List<Series> eval(List<Scrape> scrapes, int t);
    }

    private final String s;
    private final Map<String, String> variables;
    private final double rateWindow;
    private int i;

    private PromQL(String s, Map<String, String> variables, double rateWindow) {
        this.s = s;
        this.variables = variables;
        this.rateWindow = rateWindow;
    }

    static Expr parse(String expr, Map<String, String> variables, double rateWindow) {
        PromQL p = new PromQL(expr, variables, rateWindow);
        Expr e = p.expr();
        p.ws();
        if (p.i != expr.length()) {
            throw p.error("unexpected text");
        }
        return e;
    }

    private Expr expr() {
        String name = ident();
        switch (name) {
            case "sum", "max", "min", "avg" -> {
                List<String> by = word("by") ? list() : null;
                expect('(');
                Expr inner = expr();
                expect(')');
                if (by == null && word("by")) {
                    by = list();
                }
                return aggregate(name, by == null ? List.of() : by, inner);
            }
            case "rate", "increase" -> {
                expect('(');
                Expr sel = selector(ident());
                expect('[');
                int end = s.indexOf(']', i);
                double window = range(s.substring(i, end).strip());
                i = end + 1;
                expect(')');
                return rate(sel, window, name.equals("increase"));
            }
            case "histogram_quantile" -> {
                expect('(');
                ws();
                int start = i;
                while ("0123456789.".indexOf(s.charAt(i)) >= 0) {
                    i++;
                }
                double q = Double.parseDouble(s.substring(start, i));
                expect(',');
                Expr inner = expr();
                expect(')');
                return (scrapes, t) -> quantile(q, inner.eval(scrapes, t));
            }
            default -> {
                return selector(name);
            }
        }
    }

    private Expr selector(String metric) {
        Map<String, Pattern> matchers = new LinkedHashMap<>();
        Map<String, Boolean> negated = new HashMap<>();
        if (peek('{')) {
            while (!peek('}')) {
                String label = ident();
                ws();
                String op = s.startsWith("=~", i) || s.startsWith("!~", i) || s.startsWith("!=", i) ? s.substring(i, i + 2) : "=";
                i += op.length();
                ws();
                int end = s.indexOf('"', i + 1);
                String value = substitute(s.substring(i + 1, end));
                i = end + 1;
                matchers.put(label, Pattern.compile(op.endsWith("~") ? value : Pattern.quote(value)));
                negated.put(label, op.startsWith("!"));
                peek(',');
            }
        }
        return (scrapes, t) -> scrapes.get(t).samples().getOrDefault(metric, List.of()).stream()
                .filter(x -> matchers.entrySet().stream().allMatch(m -> negated.get(m.getKey())
                        != m.getValue().matcher(x.labels().getOrDefault(m.getKey(), "")).matches()))
                .toList();
    }

    /** $name becomes the variable's value; an unset variable matches anything, as "All" does. */
    private String substitute(String value) {
        Matcher m = Pattern.compile("\\$\\{?([a-zA-Z_][a-zA-Z0-9_]*)}?").matcher(value);
        return m.replaceAll(r -> Matcher.quoteReplacement(variables.getOrDefault(r.group(1), ".*")));
    }

    private double range(String text) {
        if (text.startsWith("$")) {
            return rateWindow;
        }
        double n = Double.parseDouble(text.replaceAll("[a-z]+$", ""));
        return n * switch (text.replaceAll("^[0-9.]+", "")) {
            case "ms" -> 0.001;
            case "m" -> 60;
            case "h" -> 3600;
            default -> 1;
        };
    }

    /** Per-second rate (or increase over the window) between the first scrape inside the window and scrape t; resets count from 0. */
    private static Expr rate(Expr selector, double window, boolean increase) {
        return (scrapes, t) -> {
            int from = t;
            while (from > 0 && scrapes.get(t).seconds() - scrapes.get(from - 1).seconds() <= window + 1e-9) {
                from--;
            }
            double span = scrapes.get(t).seconds() - scrapes.get(from).seconds();
            if (from == t || span <= 0) {
                return List.of();
            }
            Map<Map<String, String>, Double> before = new HashMap<>();
            for (Series x : selector.eval(scrapes, from)) {
                before.put(x.labels(), x.value());
            }
            List<Series> out = new ArrayList<>();
            for (Series x : selector.eval(scrapes, t)) {
                Double b = before.get(x.labels());
                if (b != null) {
                    double delta = x.value() >= b ? x.value() - b : x.value();
                    out.add(new Series(x.labels(), increase ? delta * window / span : delta / span));
                }
            }
            return out;
        };
    }

    private static Expr aggregate(String op, List<String> by, Expr inner) {
        return (scrapes, t) -> {
            Map<Map<String, String>, List<Double>> groups = new LinkedHashMap<>();
            for (Series x : inner.eval(scrapes, t)) {
                Map<String, String> key = new TreeMap<>();
                by.forEach(l -> key.put(l, x.labels().getOrDefault(l, "")));
                groups.computeIfAbsent(key, k -> new ArrayList<>()).add(x.value());
            }
            List<Series> out = new ArrayList<>();
            groups.forEach((k, v) -> out.add(new Series(k, switch (op) {
                case "max" -> v.stream().mapToDouble(d -> d).max().orElseThrow();
                case "min" -> v.stream().mapToDouble(d -> d).min().orElseThrow();
                case "avg" -> v.stream().mapToDouble(d -> d).average().orElseThrow();
                default -> v.stream().mapToDouble(d -> d).sum();
            })));
            return out;
        };
    }

    /** Prometheus's histogram_quantile: linear interpolation inside the bucket the rank falls in. */
    static List<Series> quantile(double q, List<Series> buckets) {
        Map<Map<String, String>, List<Series>> histograms = new LinkedHashMap<>();
        for (Series b : buckets) {
            Map<String, String> key = new TreeMap<>(b.labels());
            key.remove("le");
            histograms.computeIfAbsent(key, k -> new ArrayList<>()).add(b);
        }
        List<Series> out = new ArrayList<>();
        histograms.forEach((labels, bs) -> {
            bs.sort(Comparator.comparingDouble(b -> number(b.labels().get("le"))));
            double total = bs.getLast().value();
            if (total <= 0 || !Double.isInfinite(number(bs.getLast().labels().get("le")))) {
                return; // no observations in the window: no point, as in Prometheus (NaN)
            }
            double rank = q * total;
            double lower = 0;
            double below = 0;
            for (Series b : bs) {
                double upper = number(b.labels().get("le"));
                if (b.value() >= rank) {
                    double value = Double.isInfinite(upper) ? lower
                            : lower + (upper - lower) * (rank - below) / Math.max(b.value() - below, 1e-12);
                    out.add(new Series(labels, value));
                    return;
                }
                lower = upper;
                below = b.value();
            }
        });
        return out;
    }

    static double number(String v) {
        return switch (v) {
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            case "NaN" -> Double.NaN;
            default -> Double.parseDouble(v);
        };
    }

    private String ident() {
        ws();
        int start = i;
        while (i < s.length() && (Character.isLetterOrDigit(s.charAt(i)) || s.charAt(i) == '_' || s.charAt(i) == ':')) {
            i++;
        }
        if (start == i) {
            throw error("expected a name");
        }
        return s.substring(start, i);
    }

    private boolean word(String w) {
        ws();
        if (s.startsWith(w, i) && !Character.isLetterOrDigit(s.charAt(i + w.length()))) {
            i += w.length();
            return true;
        }
        return false;
    }

    private List<String> list() {
        expect('(');
        int end = s.indexOf(')', i);
        List<String> l = new ArrayList<>();
        for (String x : s.substring(i, end).split(",")) {
            if (!x.isBlank()) {
                l.add(x.strip());
            }
        }
        i = end + 1;
        return l;
    }

    private boolean peek(char c) {
        ws();
        if (i < s.length() && s.charAt(i) == c) {
            i++;
            return true;
        }
        return false;
    }

    private void expect(char c) {
        if (!peek(c)) {
            throw error("expected " + c);
        }
    }

    private void ws() {
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
    }

    private IllegalArgumentException error(String what) {
        return new IllegalArgumentException(what + " at " + i + " of: " + s);
    }
}
