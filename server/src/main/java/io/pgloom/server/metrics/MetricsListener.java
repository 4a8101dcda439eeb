package io.pgloom.server.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.pgloom.server.TaskScope;
import io.pgloom.server.control.Pooler;
import io.prometheus.metrics.exporter.httpserver.MetricsHandler;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP listener of {@code metrics_listen_addr}:{@code metrics_listen_port}:
 * {@code /metrics} (Prometheus text or OpenMetrics, chosen from the Accept header by the client
 * library's handler), {@code /health} (liveness) and {@code /ready} (readiness, see
 * {@link Readiness}).
 *
 * <p>Threading: the JDK's HTTP server accepts on its own thread and runs each exchange on a new
 * virtual thread of this listener's scope, which {@link #close} ends. Nothing here touches the
 * data path: metrics are read from views and adders.
 */
public final class MetricsListener implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MetricsListener.class);

    private final HttpServer server;
    private final TaskScope exchanges = new TaskScope("metrics-http");

    private MetricsListener(HttpServer server) {
        this.server = server;
    }

    /** Binds {@code host}:{@code port} (port 0 takes a free one) and starts serving. */
    public static MetricsListener start(Pooler pooler, String host, int port) throws IOException {
        PrometheusRegistry registry = pooler.metrics().registry();
        registry.register(new PgbouncerMetrics(pooler));
        registry.register(new VirtualThreadMetrics());
        registry.register(new HostMetrics(pooler.topology()));
        JvmMetrics.builder().register(registry);
        Readiness readiness = new Readiness(pooler);

        HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 0);
        MetricsListener listener = new MetricsListener(server);
        MetricsHandler metrics = new MetricsHandler(registry);
        server.createContext("/metrics", exchange -> {
            if (exact(exchange, "/metrics")) {
                metrics.handle(exchange);
            }
        });
        server.createContext("/health", exchange -> {
            if (exact(exchange, "/health")) {
                reply(exchange, 200, "text/plain; charset=utf-8", "ok\n");
            }
        });
        server.createContext("/ready", exchange -> {
            if (exact(exchange, "/ready")) {
                Readiness.Answer a = readiness.check();
                reply(exchange, a.status(), "application/json", a.json() + "\n");
            }
        });
        server.createContext("/", exchange -> reply(exchange, 404, "text/plain; charset=utf-8",
                "not found: pgloom serves /metrics, /health and /ready\n"));
        // Once the scope is closed the server is stopped too: nothing is left to run.
        server.setExecutor(exchange -> listener.exchanges.start("metrics-http", exchange));
        server.start();
        log.info("metrics listening on {}:{} (/metrics, /health, /ready)", host, listener.port());
        return listener;
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** Answers 404 unless the path is exactly {@code path} (contexts match by prefix). */
    private static boolean exact(HttpExchange exchange, String path) throws IOException {
        if (exchange.getRequestURI().getPath().equals(path)) {
            return true;
        }
        reply(exchange, 404, "text/plain; charset=utf-8", "not found\n");
        return false;
    }

    private static void reply(HttpExchange exchange, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        boolean head = "HEAD".equals(exchange.getRequestMethod());
        exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
        if (!head) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
        exchange.close();
    }

    @Override
    public void close() {
        server.stop(0);
        exchanges.close();
    }
}
