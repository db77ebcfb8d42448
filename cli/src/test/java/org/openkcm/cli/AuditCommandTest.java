package org.openkcm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.openkcm.node.audit.AuditLog;
import org.openkcm.node.audit.PostgresAuditTrail;

/** {@code ./openkcm admin audit verify|export} on a trail in the real PostgreSQL. */
class AuditCommandTest {

  private static final String URL = "jdbc:postgresql://127.0.0.1:5432/test";
  private final String tenant = "audit-cli-" + Long.toHexString(System.nanoTime());

  @AfterEach
  void drop() throws Exception {
    try (var c = DriverManager.getConnection(URL, "postgres", "");
        var st = c.createStatement()) {
      st.execute("DROP SCHEMA IF EXISTS " + PostgresAuditTrail.schema(tenant) + " CASCADE");
    }
  }

  private record Run(int code, String out, String err) {}

  private static Run cli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Cli.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  void verifiesExportsAndNamesTampering() throws Exception {
    PostgresAuditTrail trail =
        new PostgresAuditTrail(
            new PostgresAuditTrail.Settings(URL, "postgres", "", 4, Duration.ofHours(1)),
            Optional.empty(),
            Clock.systemUTC());
    try (AutoCloseable sink = AuditLog.addSink(trail)) {
      for (int i = 1; i <= 9; i++) {
        AuditLog.record("tenant.kill", "tenant", tenant, "reason", "r" + i);
      }
    }
    trail.close();

    Run ok = cli("admin", "audit", "verify", "--tenant", tenant, "--jdbc-url", URL);
    assertEquals(0, ok.code(), ok.err());
    assertTrue(
        ok.out().contains("\"records\":9") && ok.out().contains("\"intact\":true"), ok.out());

    Path file = Files.createTempFile("audit", ".jsonl");
    Run export =
        cli(
            "admin",
            "audit",
            "export",
            "--tenant",
            tenant,
            "--jdbc-url",
            URL,
            "--out",
            file.toString());
    assertEquals(0, export.code(), export.err());
    assertEquals(9, Files.readAllLines(file).size());

    try (var c = DriverManager.getConnection(URL, "postgres", "");
        var st = c.createStatement()) {
      st.execute(
          "UPDATE "
              + PostgresAuditTrail.schema(tenant)
              + ".records SET body = replace(body, 'r5', 'r6') WHERE seq = 5");
    }
    Run bad = cli("admin", "audit", "verify", "--tenant", tenant, "--jdbc-url", URL);
    assertEquals(3, bad.code());
    assertTrue(bad.out().contains("record 5 was changed"), bad.out());

    Run none = cli("admin", "audit", "verify", "--tenant", "no-such-" + tenant, "--jdbc-url", URL);
    assertEquals(1, none.code());
    assertTrue(none.err().contains("TENANT_NOT_FOUND"), none.err());
  }
}
