package org.openkcm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.openkcm.node.audit.PostgresAuditTrail;

/**
 * {@code ./openkcm cluster up|status|down} for real: two Core nodes and a gateway, each its own JVM
 * on the dev profile (PostgreSQL journal in a schema of this test, mTLS), a data key through the
 * cluster, a Core node killed (SIGKILL) and the key still opening once the survivor took over, then
 * everything stopped.
 */
class ClusterCommandIT {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String PG = "jdbc:postgresql://127.0.0.1:5432/test";
  private final String schema = "openkcm_cluster_it_" + Long.toHexString(System.nanoTime());
  private final String tenant = "cl-" + Long.toHexString(System.nanoTime() & 0xffffff);
  private Path dir;

  record Result(int exit, String out, String err) {}

  private static Result cli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = Cli.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Result(exit, out.toString().strip(), err.toString().strip());
  }

  @AfterEach
  void cleanUp() throws Exception {
    if (dir != null && Files.exists(ClusterCommand.stateFile(dir))) {
      cli("cluster", "down", "--data-dir", dir.toString());
    }
    try (var c = DriverManager.getConnection(PG, "postgres", "");
        var st = c.createStatement()) {
      st.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
      st.execute("DROP SCHEMA IF EXISTS " + PostgresAuditTrail.schema(tenant) + " CASCADE");
    }
  }

  @Test
  void upStatusKillAndDown() throws Exception {
    dir = Files.createTempDirectory("openkcm-cluster-cmd");
    String d = dir.toString();
    Result up =
        cli(
            "cluster",
            "up",
            "--core-nodes",
            "2",
            "--gateways",
            "1",
            "--data-dir",
            d,
            "--jdbc-url",
            PG + "?currentSchema=" + schema);
    assertEquals(0, up.exit(), up.err());
    List<String> rows = up.out().lines().toList();
    assertEquals(4, rows.size(), up.out());
    assertTrue(rows.get(0).startsWith("NODE"), rows.get(0));
    for (String row : rows.subList(1, 4)) {
      assertTrue(
          row.matches("(core-[12] +core|gateway-1 +gateway) +\\d+ +127\\.0\\.0\\.1:\\d+ +yes .*"),
          row);
    }
    assertEquals(
        1,
        cli("cluster", "up", "--data-dir", d).exit(),
        "a second up on a running cluster is refused");

    assertEquals(
        0,
        cli(
                "admin",
                "tenant",
                "create",
                "--tenant",
                tenant,
                "--l1",
                "devfile:" + tenant + "-root",
                "--data-dir",
                d)
            .exit());
    assertEquals(
        0,
        cli(
                "admin",
                "service",
                "create",
                "--tenant",
                tenant,
                "--service",
                "payments",
                "--data-dir",
                d)
            .exit());
    Result gen =
        cli("datakey", "generate", "--tenant", tenant, "--service", "payments", "--data-dir", d);
    assertEquals(0, gen.exit(), gen.err());
    JsonNode key = JSON.readTree(gen.out());

    ClusterCommand.State state = ClusterCommand.read(dir).orElseThrow();
    ClusterCommand.Node victim = state.nodes().get(1); // core-2: never the first seed
    assertEquals("core-2", victim.name());
    ProcessHandle.of(victim.pid()).orElseThrow().destroyForcibly();
    Result status = cli("cluster", "status", "--data-dir", d);
    assertTrue(
        status.out().lines().anyMatch(l -> l.startsWith("core-2") && l.contains(" no ")),
        status.out());

    // the survivor serves every tenant once the dead node is downed (split-brain resolver)
    Instant deadline = Instant.now().plus(Duration.ofSeconds(90));
    Result dec;
    do {
      dec =
          cli(
              "datakey",
              "decrypt",
              "--tenant",
              tenant,
              "--envelope",
              key.get("envelope").asText(),
              "--data-dir",
              d);
    } while (dec.exit() != 0 && Instant.now().isBefore(deadline));
    assertEquals(0, dec.exit(), dec.err());
    assertEquals(key.get("plaintext").asText(), JSON.readTree(dec.out()).get("plaintext").asText());

    Result down = cli("cluster", "down", "--data-dir", d);
    assertEquals(0, down.exit(), down.err());
    for (ClusterCommand.Node n : state.nodes()) {
      assertFalse(ClusterCommand.alive(n), n.name() + " stopped");
    }
    assertFalse(Files.exists(ClusterCommand.stateFile(dir)));
  }
}
