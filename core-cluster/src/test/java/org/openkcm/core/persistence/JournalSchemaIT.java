package org.openkcm.core.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.DriverManager;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Core nodes started together ({@code cluster up}, a Kubernetes rollout) all create the journal
 * tables of one fresh schema at once. PostgreSQL's {@code IF NOT EXISTS} is not safe under that
 * race (two creators both pass the check; one fails on {@code pg_namespace}/{@code pg_type}'s
 * unique index), which once made the second node of {@code cluster up} exit at start in CI.
 */
class JournalSchemaIT {

  private static final String PG = "jdbc:postgresql://127.0.0.1:5432/test";

  @Test
  void nodesCreatingOneFreshSchemaAtOnceAllSucceed() throws Exception {
    int nodes = 4;
    ExecutorService pool = Executors.newFixedThreadPool(nodes);
    List<String> schemas = new ArrayList<>();
    try {
      for (int round = 0; round < 15; round++) {
        String schema = "openkcm_ddl_race_" + Long.toHexString(System.nanoTime());
        schemas.add(schema);
        String url = PG + "?currentSchema=" + schema;
        CyclicBarrier start = new CyclicBarrier(nodes);
        List<CompletableFuture<Void>> all = new ArrayList<>();
        for (int n = 0; n < nodes; n++) {
          all.add(
              CompletableFuture.runAsync(
                  () -> {
                    try {
                      start.await(10, TimeUnit.SECONDS);
                    } catch (Exception e) {
                      throw new IllegalStateException(e);
                    }
                    JournalSchema.createPostgres(url, "postgres", "");
                  },
                  pool));
        }
        CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        try (var c = DriverManager.getConnection(url, "postgres", "");
            var st = c.createStatement();
            var rs =
                st.executeQuery(
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema = '"
                        + schema
                        + "'")) {
          rs.next();
          assertEquals(3, rs.getInt(1), "event_journal, event_tag and snapshot in " + schema);
        }
      }
    } finally {
      pool.shutdownNow();
      try (var c = DriverManager.getConnection(PG, "postgres", "");
          var st = c.createStatement()) {
        for (String s : schemas) {
          st.execute("DROP SCHEMA IF EXISTS " + s + " CASCADE");
        }
      }
    }
  }
}
