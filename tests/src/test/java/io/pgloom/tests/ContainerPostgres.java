package io.pgloom.tests;

import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.PostgreSQLContainer;

/**
 * The optional Testcontainers provider: chosen with {@code -Dpgloom.test.postgres=testcontainers}
 * on a machine with a Docker engine. Same roles and database as the embedded provider.
 */
final class ContainerPostgres {
    private ContainerPostgres() {
    }

    static TestPostgres.Endpoint start() {
        if (!DockerClientFactory.instance().isDockerAvailable()) {
            throw new IllegalStateException("pgloom.test.postgres=testcontainers was chosen but no Docker engine is reachable");
        }
        PostgreSQLContainer<?> pg = new PostgreSQLContainer<>("postgres:17")
                .withUsername(TestPostgres.SUPERUSER)
                .withPassword(TestPostgres.SUPERUSER_PASSWORD)
                .withDatabaseName("postgres");
        pg.start();
        for (String sql : TestPostgres.bootstrap()) {
            try {
                pg.execInContainer("psql", "-U", TestPostgres.SUPERUSER, "-c", sql);
            } catch (Exception e) {
                throw new IllegalStateException("bootstrap failed: " + sql, e);
            }
        }
        return new TestPostgres.Endpoint(pg.getHost(), pg.getFirstMappedPort(), pg::stop);
    }
}
