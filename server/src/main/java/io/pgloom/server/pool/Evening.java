package io.pgloom.server.pool;

import io.pgloom.wire.backend.Endpoint;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Which connections a balancing pool sheds when a host joins the hosts that suit it (a standby
 * back from down or from lagging): without it the returning host would get a share only as the
 * pool opens new connections, which a busy steady pool seldom does.
 *
 * <p>The rule: with {@code n} connections over {@code k} suitable hosts, no host keeps more than
 * its share, n / k rounded up, and a host that no longer suits at all (the primary a
 * prefer-standby pool fell back to) keeps none. Idle connections are taken before busy ones, which
 * close only when released; the pool's {@link LeastBusySelector} then opens new ones on the
 * emptiest host. Nothing is shed unless the joining host holds fewer than n / k rounded down, so a
 * change that leaves the pool balanced sheds nothing.
 *
 * <p>A pure function over the pool's connections, so that it is tested without servers.
 */
final class Evening {
    private Evening() {}

    /**
     * The connections to close so that {@code joined}, one of {@code fit}, gets its share;
     * {@code conns} are the pool's connections that stay (none marked to close).
     */
    static <T> List<T> toShed(List<T> conns, Function<T, Endpoint> hostOf, Predicate<T> idle, List<Endpoint> fit,
            Endpoint joined) {
        if (fit.isEmpty() || !fit.contains(joined) || conns.isEmpty()) {
            return List.of();
        }
        Map<Endpoint, List<T>> byHost = new LinkedHashMap<>();
        for (T c : conns) {
            byHost.computeIfAbsent(hostOf.apply(c), h -> new ArrayList<>()).add(c);
        }
        int total = conns.size();
        int onJoined = byHost.getOrDefault(joined, List.of()).size();
        if (onJoined >= total / fit.size()) {
            return List.of();
        }
        int share = (total + fit.size() - 1) / fit.size();
        List<T> shed = new ArrayList<>();
        for (Map.Entry<Endpoint, List<T>> e : byHost.entrySet()) {
            int excess = e.getValue().size() - (fit.contains(e.getKey()) ? share : 0);
            if (excess <= 0) {
                continue;
            }
            List<T> ordered = new ArrayList<>(e.getValue().stream().filter(idle).toList());
            ordered.addAll(e.getValue().stream().filter(idle.negate()).toList());
            shed.addAll(ordered.subList(0, excess));
        }
        return shed;
    }
}
