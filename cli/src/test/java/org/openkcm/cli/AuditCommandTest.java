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
    // the trail signs its checkpoints as a Core node of a development CA does
    Path pki = Files.createTempDirectory("audit-cli-pki");
    org.openkcm.node.tls.DevCa ca = org.openkcm.node.tls.DevCa.loadOrCreate(pki, "openkcm.local");
    ca.issue(
        org.openkcm.node.tls.SpiffeId.parse("spiffe://openkcm.local/core/node-1"),
        Duration.ofDays(1),
        pki.resolve("core.crt"),
        pki.resolve("core.key"));
    PostgresAuditTrail trail =
        new PostgresAuditTrail(
            new PostgresAuditTrail.Settings(URL, "postgres", "", 4, Duration.ofHours(1)),
            Optional.of(
                new PostgresAuditTrail.Signer(
                    org.openkcm.node.tls.Pem.readPrivateKey(pki.resolve("core.key")),
                    org.openkcm.node.tls.Pem.readCertificates(pki.resolve("core.crt")).get(0))),
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

    // the checkpoints kept outside (export --checkpoints), and a strict verify against them and
    // the trust bundle
    Path anchors = Files.createTempFile("audit-anchors", ".jsonl");
    Run kept =
        cli(
            "admin",
            "audit",
            "export",
            "--tenant",
            tenant,
            "--jdbc-url",
            URL,
            "--out",
            file.toString(),
            "--checkpoints",
            anchors.toString());
    assertEquals(0, kept.code(), kept.err());
    assertEquals(3, Files.readAllLines(anchors).size(), "checkpoints at 4, 8 and 9");
    Run strict =
        cli(
            "admin",
            "audit",
            "verify",
            "--tenant",
            tenant,
            "--jdbc-url",
            URL,
            "--tls-dir",
            pki.toString(),
            "--checkpoint-every",
            "4",
            "--anchor",
            anchors.toString());
    assertEquals(0, strict.code(), strict.out() + strict.err());
    assertTrue(
        strict.out().contains("\"signersChecked\":true") && strict.out().contains("\"anchors\":3"),
        strict.out());
    Path otherCa = Files.createTempDirectory("audit-cli-other-ca");
    org.openkcm.node.tls.DevCa.loadOrCreate(otherCa, "openkcm.local");
    Run foreign =
        cli(
            "admin",
            "audit",
            "verify",
            "--tenant",
            tenant,
            "--jdbc-url",
            URL,
            "--tls-dir",
            otherCa.toString());
    assertEquals(3, foreign.code(), foreign.out());
    assertTrue(foreign.out().contains("not issued by the trust bundle"), foreign.out());
    Path forgedAnchors = Files.createTempFile("audit-anchors-forged", ".jsonl");
    String first = Files.readAllLines(anchors).get(0);
    int at = first.indexOf("\"hash\":\"") + "\"hash\":\"".length();
    char flipped = first.charAt(at) == '0' ? '1' : '0'; // record 4's hash, one digit changed
    Files.writeString(forgedAnchors, first.substring(0, at) + flipped + first.substring(at + 1));
    Run moved =
        cli(
            "admin",
            "audit",
            "verify",
            "--tenant",
            tenant,
            "--jdbc-url",
            URL,
            "--anchor",
            forgedAnchors.toString());
    assertEquals(3, moved.code(), moved.out() + moved.err());

    // a DBA who switches the append-only triggers off and edits a record
    try (var c = DriverManager.getConnection(URL, "postgres", "");
        var st = c.createStatement()) {
      st.execute("SET session_replication_role = replica");
      st.execute(
          "UPDATE "
              + PostgresAuditTrail.schema(tenant)
              + ".records SET body = replace(body, 'r5', 'r6') WHERE seq = 5");
    }
    Run bad = cli("admin", "audit", "verify", "--tenant", tenant, "--jdbc-url", URL);
    assertEquals(3, bad.code());
    assertTrue(bad.out().contains("record 5 was changed"), bad.out());
    Path late = Files.createTempFile("audit-anchors-late", ".jsonl");
    Run enshrine =
        cli(
            "admin",
            "audit",
            "export",
            "--tenant",
            tenant,
            "--jdbc-url",
            URL,
            "--out",
            file.toString(),
            "--checkpoints",
            late.toString());
    assertEquals(3, enshrine.code(), "no anchors from a trail that does not verify");
    assertEquals(0, Files.size(late));

    Run none = cli("admin", "audit", "verify", "--tenant", "no-such-" + tenant, "--jdbc-url", URL);
    assertEquals(1, none.code());
    assertTrue(none.err().contains("TENANT_NOT_FOUND"), none.err());
  }
}
