import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;

/**
 * Draws the panels of a Grafana dashboard (pgloom.json) into a PNG from /metrics scrapes, since
 * Grafana itself cannot run here. It scrapes pgloom every second (or reads scrapes saved by an
 * earlier run), evaluates each panel's PromQL with {@link PromQL}, and lays the panels out by
 * their gridPos, with their titles, units, legends and stacking.
 *
 * <pre>
 * java DashboardSnapshot.java --url http://127.0.0.1:9127/metrics --seconds 75 --save scrapes.txt \
 *     --dashboard deploy/grafana/pgloom.json --out deploy/grafana/pgloom.png [--var database=bench] [--subtitle text]
 * java DashboardSnapshot.java --load scrapes.txt --dashboard ... --out ...      (redraw, no scraping)
 * </pre>
 */
public class DashboardSnapshot {
    private static final String SEPARATOR = "=== scrape at ";
    private static final Color BACKGROUND = new Color(0x111217);
    private static final Color PANEL = new Color(0x181b1f);
    private static final Color BORDER = new Color(0x2c3235);
    private static final Color TEXT = new Color(0xccccdc);
    private static final Color DIM = new Color(0x8e8e9e);
    private static final Color GRID = new Color(0x24282d);
    private static final Color[] PALETTE = {new Color(0x73bf69), new Color(0xf2cc0c), new Color(0x8ab8ff), new Color(0xff780a),
        new Color(0xf2495c), new Color(0x1fbfb8), new Color(0xb877d9), new Color(0xff9bd0), new Color(0xfade2a), new Color(0xc4162a)};

    /** One line of a panel: its legend text and a value per scrape (NaN where absent). */
    record Line(String legend, double[] values) {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new HashMap<>();
        Map<String, String> vars = new LinkedHashMap<>();
        for (int a = 0; a + 1 < args.length; a += 2) {
            if (args[a].equals("--var")) {
                String[] kv = args[a + 1].split("=", 2);
                vars.put(kv[0], kv[1]);
            } else {
                opt.put(args[a].substring(2), args[a + 1]);
            }
        }
        List<PromQL.Scrape> scrapes = opt.containsKey("load") ? load(Path.of(opt.get("load")))
                : scrape(opt.get("url"), Double.parseDouble(opt.getOrDefault("seconds", "75")), opt.get("save"));
        Map<String, Object> dashboard = map(JsonReader.read(Files.readString(Path.of(opt.get("dashboard")))));
        BufferedImage image = draw(dashboard, scrapes, vars, Double.parseDouble(opt.getOrDefault("rate-window", "5")),
                Integer.parseInt(opt.getOrDefault("width", "1600")), Integer.parseInt(opt.getOrDefault("height", "1000")),
                opt.getOrDefault("subtitle", ""));
        ImageIO.write(image, "png", Path.of(opt.get("out")).toFile());
        System.err.println("dashboard: wrote " + opt.get("out") + " from " + scrapes.size() + " scrapes");
    }

    /** Scrapes {@code url} once a second for {@code seconds}, optionally saving every body. */
    static List<PromQL.Scrape> scrape(String url, double seconds, String save) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        List<PromQL.Scrape> out = new ArrayList<>();
        StringBuilder saved = new StringBuilder();
        long start = System.nanoTime();
        for (int n = 0; n <= seconds; n++) {
            long due = start + n * 1_000_000_000L;
            Thread.sleep(Math.max(0, (due - System.nanoTime()) / 1_000_000));
            double at = (System.nanoTime() - start) / 1e9;
            try {
                String body = http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString()).body();
                out.add(PromQL.Scrape.parse(at, body));
                saved.append(SEPARATOR).append(at).append('\n').append(body);
            } catch (IOException e) {
                System.err.println("dashboard: scrape at " + at + " s failed: " + e);
            }
        }
        if (save != null) {
            Files.writeString(Path.of(save), saved);
        }
        return out;
    }

    static List<PromQL.Scrape> load(Path file) throws IOException {
        List<PromQL.Scrape> out = new ArrayList<>();
        for (String part : Files.readString(file).split(Pattern.quote(SEPARATOR))) {
            int nl = part.indexOf('\n');
            if (nl > 0) {
                out.add(PromQL.Scrape.parse(Double.parseDouble(part.substring(0, nl)), part.substring(nl + 1)));
            }
        }
        return out;
    }

    /** Each target's series over all scrapes, named by its legendFormat. */
    static List<Line> lines(Map<String, Object> panel, List<PromQL.Scrape> scrapes, Map<String, String> vars, double window) {
        Map<String, double[]> byLegend = new LinkedHashMap<>();
        for (Object o : list(panel.get("targets"))) {
            Map<String, Object> target = map(o);
            PromQL.Expr expr = PromQL.parse((String) target.get("expr"), vars, window);
            String format = (String) target.getOrDefault("legendFormat", "");
            for (int t = 0; t < scrapes.size(); t++) {
                for (PromQL.Series x : expr.eval(scrapes, t)) {
                    Matcher m = Pattern.compile("\\{\\{\\s*(\\w+)\\s*}}").matcher(format);
                    String legend = m.replaceAll(r -> Matcher.quoteReplacement(x.labels().getOrDefault(r.group(1), ""))).strip();
                    double[] v = byLegend.computeIfAbsent(legend, k -> {
                        double[] a = new double[scrapes.size()];
                        java.util.Arrays.fill(a, Double.NaN);
                        return a;
                    });
                    v[t] = x.value();
                }
            }
        }
        List<Line> out = new ArrayList<>();
        byLegend.forEach((k, v) -> out.add(new Line(k, v)));
        return out;
    }

    static BufferedImage draw(Map<String, Object> dashboard, List<PromQL.Scrape> scrapes, Map<String, String> vars,
                              double window, int width, int height, String subtitle) {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(BACKGROUND);
        g.fillRect(0, 0, width, height);
        g.setColor(TEXT);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 18));
        g.drawString("pgloom  \u2014  " + dashboard.get("title") + ".json", 12, 26);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.setColor(DIM);
        double span = scrapes.getLast().seconds() - scrapes.getFirst().seconds();
        String vs = vars.isEmpty() ? "all" : vars.toString();
        g.drawString("drawn from %d scrapes of a real pgloom over %.0f s (rate window %.0f s; variables %s)%s"
                .formatted(scrapes.size(), span, window, vs, subtitle.isEmpty() ? "" : ": " + subtitle), 12, 44);

        int top = 54;
        int pad = 6;
        List<Object> panels = list(dashboard.get("panels"));
        int rows = panels.stream().map(p -> map(map(p).get("gridPos"))).mapToInt(p -> num(p, "y") + num(p, "h")).max().orElse(1);
        double cellW = (width - pad) / 24.0;
        double cellH = (height - top - pad) / (double) rows;
        for (Object o : panels) {
            Map<String, Object> p = map(o);
            Map<String, Object> pos = map(p.get("gridPos"));
            int x = (int) (pad + num(pos, "x") * cellW);
            int y = (int) (top + num(pos, "y") * cellH);
            int w = (int) (num(pos, "w") * cellW) - pad;
            int h = (int) (num(pos, "h") * cellH) - pad;
            panel((Graphics2D) g.create(x, y, w, h), p, lines(p, scrapes, vars, window), scrapes, w, h);
        }
        g.dispose();
        return image;
    }

    private static void panel(Graphics2D g, Map<String, Object> p, List<Line> lines, List<PromQL.Scrape> scrapes, int w, int h) {
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(PANEL);
        g.fillRoundRect(0, 0, w - 1, h - 1, 6, 6);
        g.setColor(BORDER);
        g.drawRoundRect(0, 0, w - 1, h - 1, 6, 6);
        g.setColor(TEXT);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
        g.drawString((String) p.get("title"), 8, 18);
        Map<String, Object> defaults = map(map(p.get("fieldConfig")).get("defaults"));
        String unit = (String) defaults.getOrDefault("unit", "short");
        lines.removeIf(l -> java.util.Arrays.stream(l.values()).allMatch(Double::isNaN));
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        if (lines.isEmpty()) {
            g.setColor(DIM);
            g.drawString("No data", w / 2 - 20, h / 2);
            return;
        }
        if ("stat".equals(p.get("type"))) {
            stat(g, defaults, lines.getFirst(), unit, w, h);
            return;
        }
        Map<String, Object> custom = map(defaults.getOrDefault("custom", Map.of()));
        boolean stacked = "normal".equals(map(custom.getOrDefault("stacking", Map.of())).get("mode"));
        List<double[]> drawn = stacked ? stack(lines) : lines.stream().map(Line::values).toList();

        // Legend rows at the bottom, as Grafana's list legend.
        FontMetrics fm = g.getFontMetrics();
        List<int[]> spots = new ArrayList<>();
        int lx = 8;
        int ly = 0;
        for (Line l : lines) {
            int lw = 14 + fm.stringWidth(l.legend()) + 14;
            if (lx + lw > w - 8 && lx > 8) {
                lx = 8;
                ly++;
            }
            spots.add(new int[] {lx, ly});
            lx += lw;
        }
        int legendH = (ly + 1) * 15 + 4;
        double max = drawn.stream().flatMapToDouble(java.util.Arrays::stream).filter(v -> !Double.isNaN(v)).max().orElse(1);
        double step = niceStep(max <= 0 ? 1 : max / 4);
        double top = Math.max(step, Math.ceil(max / step) * step);
        int left = 14 + fm.stringWidth(format(top, unit));
        int plotTop = 28;
        int plotW = w - left - 12;
        int plotH = h - plotTop - legendH - 20;
        for (int k = 0; k < lines.size(); k++) {
            int[] s = spots.get(k);
            int yy = h - legendH + s[1] * 15 + 10;
            g.setColor(PALETTE[k % PALETTE.length]);
            g.fillRect(s[0], yy - 3, 10, 3);
            g.setColor(TEXT);
            g.drawString(lines.get(k).legend(), s[0] + 14, yy + 1);
        }

        double t0 = scrapes.getFirst().seconds();
        double t1 = scrapes.getLast().seconds();
        for (double v = 0; v <= top + step / 2; v += step) {
            int yy = plotTop + plotH - (int) Math.round(v / top * plotH);
            g.setColor(GRID);
            g.drawLine(left, yy, left + plotW, yy);
            g.setColor(DIM);
            String label = format(v, unit);
            g.drawString(label, left - 6 - fm.stringWidth(label), yy + 4);
        }
        double tick = niceStep((t1 - t0) / 6);
        for (double s = 0; s <= t1 - t0 + 1e-9; s += tick) {
            int xx = left + (int) Math.round(s / (t1 - t0) * plotW);
            g.setColor(GRID);
            g.drawLine(xx, plotTop, xx, plotTop + plotH);
            g.setColor(DIM);
            String label = "%d:%02d".formatted((int) s / 60, (int) s % 60);
            g.drawString(label, xx - fm.stringWidth(label) / 2, plotTop + plotH + 14);
        }
        g.setStroke(new BasicStroke(1.5f));
        for (int k = drawn.size() - 1; k >= 0; k--) {
            double[] v = drawn.get(k);
            Path2D path = new Path2D.Double();
            boolean pen = false;
            for (int t = 0; t < v.length; t++) {
                if (Double.isNaN(v[t])) {
                    pen = false;
                    continue;
                }
                double xx = left + (scrapes.get(t).seconds() - t0) / (t1 - t0) * plotW;
                double yy = plotTop + plotH - v[t] / top * plotH;
                if (pen) {
                    path.lineTo(xx, yy);
                } else {
                    path.moveTo(xx, yy);
                    if (t + 1 == v.length || Double.isNaN(v[t + 1])) {
                        g.setColor(PALETTE[k % PALETTE.length]);
                        g.fillOval((int) xx - 2, (int) yy - 2, 5, 5); // a lone point, as Grafana shows it
                    }
                }
                pen = true;
            }
            g.setColor(PALETTE[k % PALETTE.length]);
            g.draw(path);
        }
    }

    /** Stacked series: each one adds to those before it (absent counts as 0 where any is present). */
    private static List<double[]> stack(List<Line> lines) {
        List<double[]> out = new ArrayList<>();
        double[] sum = null;
        for (Line l : lines) {
            double[] v = l.values().clone();
            for (int t = 0; t < v.length; t++) {
                double below = sum == null || Double.isNaN(sum[t]) ? 0 : sum[t];
                v[t] = Double.isNaN(v[t]) ? (sum == null ? Double.NaN : sum[t]) : v[t] + below;
            }
            out.add(v);
            sum = v;
        }
        return out;
    }

    /** A stat panel: the last value, through the value mappings and their color, with a sparkline. */
    private static void stat(Graphics2D g, Map<String, Object> defaults, Line line, String unit, int w, int h) {
        double last = Double.NaN;
        for (double v : line.values()) {
            last = Double.isNaN(v) ? last : v;
        }
        String text = format(last, unit);
        Color color = PALETTE[0];
        for (Object m : list(defaults.getOrDefault("mappings", List.of()))) {
            Object hit = map(map(m).get("options")).get(String.valueOf((long) last));
            if (hit != null) {
                text = (String) map(hit).get("text");
                color = "red".equals(map(hit).get("color")) ? PALETTE[4] : PALETTE[0];
            }
        }
        g.setColor(color.darker().darker());
        g.fillRoundRect(4, 26, w - 9, h - 31, 6, 6);
        g.setColor(Color.WHITE);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, Math.min(64, h / 3)));
        FontMetrics fm = g.getFontMetrics();
        g.drawString(text, (w - fm.stringWidth(text)) / 2, 26 + (h - 26) / 2 + fm.getAscent() / 3);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        g.drawString(line.legend(), 10, h - 10);
    }

    static double niceStep(double raw) {
        double mag = Math.pow(10, Math.floor(Math.log10(raw)));
        for (double f : new double[] {1, 2, 2.5, 5, 10}) {
            if (f * mag >= raw) {
                return f * mag;
            }
        }
        return 10 * mag;
    }

    /** Grafana-like unit formatting for the units pgloom.json uses. */
    static String format(double v, String unit) {
        if (Double.isNaN(v)) {
            return "-";
        }
        return switch (unit) {
            case "s" -> v == 0 ? "0" : v < 1e-3 ? trim(v * 1e6) + " \u00b5s" : v < 1 ? trim(v * 1e3) + " ms" : trim(v) + " s";
            case "bytes" -> v >= 1 << 30 ? trim(v / (1 << 30)) + " GiB" : v >= 1 << 20 ? trim(v / (1 << 20)) + " MiB"
                    : v >= 1024 ? trim(v / 1024) + " KiB" : trim(v) + " B";
            case "ops" -> (v >= 1000 ? trim(v / 1000) + "K" : trim(v)) + " ops/s";
            default -> v >= 1e6 ? trim(v / 1e6) + " M" : v >= 1000 ? trim(v / 1000) + " K" : trim(v);
        };
    }

    private static String trim(double v) {
        String s = Math.abs(v) >= 100 || v == Math.rint(v) ? "%.0f".formatted(v) : Math.abs(v) >= 10 ? "%.1f".formatted(v) : "%.2f".formatted(v);
        return s.contains(".") ? s.replaceAll("0+$", "").replaceAll("\\.$", "") : s;
    }

    private static int num(Map<String, Object> m, String key) {
        return ((Double) m.get(key)).intValue();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) {
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object o) {
        return (List<Object>) o;
    }
}
