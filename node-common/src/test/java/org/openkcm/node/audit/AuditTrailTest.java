package org.openkcm.node.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openkcm.node.tls.DevCa;
import org.openkcm.node.tls.Pem;
import org.openkcm.node.tls.SpiffeId;

/**
 * The persisted trail on a real PostgreSQL: records of a tenant chained and checkpointed, and every
 * kind of tampering done with SQL named at its first bad record.
 */
class AuditTrailTest {

  private static final String URL =
      System.getenv().getOrDefault("OPENKCM_IT_PG_URL", "jdbc:postgresql://127.0.0.1:5432/test");

  private final String tenant = "audit-test-" + Long.toHexString(System.nanoTime());
  private final String schema = PostgresAuditTrail.schema(tenant);
  private PostgresAuditTrail trail;
  private Path dir;

  @BeforeEach
  void write() throws Exception {
    dir = Files.createTempDirectory("audit-test");
    DevCa ca = DevCa.loadOrCreate(dir.resolve("pki"), "openkcm.local");
    ca.issue(
        SpiffeId.parse("spiffe://openkcm.local/core/node-1"),
        Instant.now().minusSeconds(60),
        Instant.now().plus(Duration.ofDays(1)),
        dir.resolve("core.crt"),
        dir.resolve("core.key"));
    trail =
        new PostgresAuditTrail(
            new PostgresAuditTrail.Settings(URL, "postgres", "", 5, Duration.ofHours(1)),
            Optional.of(
                new PostgresAuditTrail.Signer(
                    Pem.readPrivateKey(dir.resolve("core.key")),
                    Pem.readCertificates(dir.resolve("core.crt")).get(0))),
            Clock.systemUTC());
    try (AutoCloseable sink = AuditLog.addSink(trail)) {
      for (int i = 1; i <= 23; i++) {
        // a reason with what COPY's text format escapes (backslash, tab, line breaks) and more
        String reason = "drill " + i + (i % 2 == 0 ? " \\ \t \r\n \"q\" \\N é \u0000" : "");
        AuditLog.record("tenant.kill", "tenant", tenant, "reason", reason, "cid", "c" + i);
      }
      AuditLog.record("seal.status", "node", "n1");
    }
    trail.close();
  }

  @AfterEach
  void drop() throws Exception {
    sql(
        "DROP SCHEMA IF EXISTS " + schema + " CASCADE",
        "DROP SCHEMA IF EXISTS " + PostgresAuditTrail.schema(PostgresAuditTrail.NODE) + " CASCADE");
  }

  /**
   * A database owner or superuser who first switches the chain's append-only triggers off (as only
   * they can) and then edits rows: what the hashes, the signed checkpoints and the anchors must
   * still catch.
   */
  private static void dba(String... statements) throws Exception {
    try (Connection c = dbaConnection();
        Statement st = c.createStatement()) {
      for (String s : statements) {
        st.execute(s);
      }
    }
  }

  private static Connection dbaConnection() throws Exception {
    Connection c = DriverManager.getConnection(URL, "postgres", "");
    try (Statement st = c.createStatement()) {
      st.execute("SET session_replication_role = replica");
    }
    return c;
  }

  private static void sql(String... statements) throws Exception {
    try (Connection c = DriverManager.getConnection(URL, "postgres", "");
        Statement st = c.createStatement()) {
      for (String s : statements) {
        st.execute(s);
      }
    }
  }

  private AuditChain.Verdict verify() throws Exception {
    try (AuditReader r = new AuditReader(URL, "postgres", "")) {
      return r.verify(tenant);
    }
  }

  private void assertBroken(String expected) throws Exception {
    AuditChain.Verdict v = verify();
    assertTrue(v.firstProblem().isPresent(), "tampering found");
    assertTrue(v.firstProblem().get().contains(expected), v.firstProblem().get());
  }

  @Test
  void anUntouchedTrailVerifiesAndExports() throws Exception {
    AuditChain.Verdict v = verify();
    assertTrue(v.ok(), v.toString());
    assertEquals(23, v.records(), "the tenant's records only (the node-wide one is elsewhere)");
    assertEquals(5, v.checkpoints(), "every 5 records, and the rest at close");
    assertEquals(5, v.signedCheckpoints());
    List<String> lines = new ArrayList<>();
    try (AuditReader r = new AuditReader(URL, "postgres", "")) {
      assertEquals(23, r.export(tenant, Optional.empty(), lines::add));
      assertEquals(0, r.export(tenant, Optional.of(Instant.now().plusSeconds(60)), l -> {}));
    }
    assertTrue(
        lines.get(6).contains("\"seq\":7") && lines.get(6).contains("drill 7"), lines.get(6));
  }

  @Test
  void theNewestRecordsOfAnEventComeNewestFirstWithTheirNumbers() throws Exception {
    PostgresAuditTrail more =
        new PostgresAuditTrail(
            new PostgresAuditTrail.Settings(URL, "postgres", "", 1000, Duration.ofHours(1)),
            Optional.empty(),
            Clock.systemUTC());
    try (AutoCloseable sink = AuditLog.addSink(more)) {
      AuditLog.record("tenant.revive", "tenant", tenant, "cid", "r1");
      AuditLog.record("tenant.kill", "tenant", tenant, "reason", "drill 24", "cid", "c24");
    }
    more.close();
    try (AuditReader r = new AuditReader(URL, "postgres", "")) {
      List<AuditReader.Line> kills =
          r.newest(tenant, Optional.empty(), Optional.of("tenant.kill"), 3);
      assertEquals(List.of(25L, 23L, 22L), kills.stream().map(AuditReader.Line::seq).toList());
      assertTrue(kills.get(0).json().contains("drill 24"), kills.get(0).json());
      List<AuditReader.Line> any = r.newest(tenant, Optional.empty(), Optional.of(" "), 2);
      assertEquals(List.of(25L, 24L), any.stream().map(AuditReader.Line::seq).toList());
      assertTrue(any.get(1).json().contains("\"event\":\"tenant.revive\""), any.get(1).json());
      assertEquals(
          List.of(),
          r.newest(tenant, Optional.of(Instant.now().plusSeconds(60)), Optional.empty(), 10));
      assertTrue(r.verify(tenant).ok(), "the chain goes on where it ended");
    }
  }

  @Test
  void twoNodesInOneJvmWriteEachRecordOnce() throws Exception {
    String shared = "audit-shared-" + Long.toHexString(System.nanoTime());
    com.typesafe.config.Config c =
        com.typesafe.config.ConfigFactory.parseMap(
            java.util.Map.of(
                "openkcm.audit.trail.enabled",
                true,
                "openkcm.audit.trail.url",
                URL,
                "openkcm.audit.trail.user",
                "postgres",
                "openkcm.audit.trail.password",
                "",
                "openkcm.audit.trail.checkpoint-every",
                1000,
                "openkcm.audit.trail.checkpoint-interval",
                "1h"));
    // a Core and a gateway in one JVM (the demo) each start the trail; records reach every sink
    AuditTrailSettings.Running core = AuditTrailSettings.start(c, Optional.empty()).orElseThrow();
    AuditTrailSettings.Running gateway =
        AuditTrailSettings.start(c, Optional.empty()).orElseThrow();
    try {
      for (int i = 1; i <= 5; i++) {
        AuditLog.record("keys.unwrap", "tenant", shared, "count", i, "cid", "s" + i);
      }
      gateway.close(); // the Core still runs: its records still go to the trail
      AuditLog.record("keys.unwrap", "tenant", shared, "count", 6, "cid", "s6");
    } finally {
      core.close();
    }
    try (AuditReader r = new AuditReader(URL, "postgres", "")) {
      AuditChain.Verdict v = r.verify(shared);
      assertTrue(v.ok(), v.toString());
      assertEquals(6, v.records(), "each record once, not once per node");
    } finally {
      sql("DROP SCHEMA IF EXISTS " + PostgresAuditTrail.schema(shared) + " CASCADE");
    }
  }

  @Test
  void twoWritersOnOneChainClashAndRetryWithoutLosingOrDoublingARecord() throws Exception {
    // two nodes (two writers, two connections) append to one tenant's chain, and to one tenant of
    // their own each, in the same batches: a clash on a sequence number rolls back the batch, the
    // writer reads the chains' ends again and writes it again
    String shared = "audit-clash-" + Long.toHexString(System.nanoTime());
    List<String> tenants = List.of(shared, shared + "-a", shared + "-b");
    PostgresAuditTrail.Settings settings =
        new PostgresAuditTrail.Settings(URL, "postgres", "", 1000, Duration.ofHours(1));
    PostgresAuditTrail a = new PostgresAuditTrail(settings, Optional.empty(), Clock.systemUTC());
    PostgresAuditTrail b = new PostgresAuditTrail(settings, Optional.empty(), Clock.systemUTC());
    try {
      for (int round = 0; round < 4; round++) {
        // after the first round each writer's cached end of the shared chain is stale
        List<AuditSink.Entry> toA = new ArrayList<>();
        List<AuditSink.Entry> toB = new ArrayList<>();
        for (int i = 100 * round; i < 100 * round + 100; i++) {
          List<AuditSink.Entry> batch = i % 2 == 0 ? toA : toB;
          String own = i % 2 == 0 ? shared + "-a" : shared + "-b";
          batch.add(entry(shared, "keys.unwrap", i));
          batch.add(entry(own, "keys.wrap", i));
        }
        Thread other = new Thread(() -> b.acceptAll(toB));
        other.start();
        a.acceptAll(toA);
        other.join(30_000);
      }
      assertTrue(a.clashes() + b.clashes() >= 3, "stale chain ends clashed and were re-read");
      try (AuditReader r = new AuditReader(URL, "postgres", "")) {
        AuditChain.Verdict v = r.verify(shared);
        assertTrue(v.ok(), v.toString());
        assertEquals(400, v.records(), "every record of both writers, once");
        for (String own : tenants.subList(1, 3)) {
          AuditChain.Verdict o = r.verify(own);
          assertTrue(o.ok(), o.toString());
          assertEquals(200, o.records(), own);
        }
        java.util.Set<String> seen = new java.util.HashSet<>();
        r.export(shared, Optional.empty(), seen::add);
        assertEquals(400, seen.size());
      }
    } finally {
      a.close();
      b.close();
      for (String t : tenants) {
        sql("DROP SCHEMA IF EXISTS " + PostgresAuditTrail.schema(t) + " CASCADE");
      }
    }
  }

  private static AuditSink.Entry entry(String tenant, String event, int n) {
    return new AuditSink.Entry(
        tenant, event, AuditLog.json(event, "tenant", tenant, "n", n), Instant.now());
  }

  @Test
  void aDenialNeverCreatesATenantsChainAndLandsInTheNodesChain() throws Exception {
    String madeUp = "made-up-" + Long.toHexString(System.nanoTime());
    PostgresAuditTrail t =
        new PostgresAuditTrail(
            new PostgresAuditTrail.Settings(URL, "postgres", "", 1000, Duration.ofHours(1)),
            Optional.empty(),
            Clock.systemUTC());
    try {
      for (int i = 0; i < 3; i++) {
        t.accept(
            madeUp,
            "authz",
            AuditLog.json("authz", "decision", "deny", "tenant", madeUp, "action", "Decrypt"));
      }
      // nor does a failed call naming it (a gateway's record of a call for an unknown tenant)
      t.accept(
          madeUp,
          "gateway.call",
          AuditLog.json(
              "gateway.call",
              "tenant",
              madeUp,
              "operation",
              "Decrypt",
              "outcome",
              "TENANT_NOT_FOUND"));
      // a denial for a tenant that has a chain stays in it
      t.accept(
          tenant,
          "authz",
          AuditLog.json("authz", "decision", "deny", "tenant", tenant, "action", "Decrypt"));
    } finally {
      t.close();
    }
    try (Connection c = DriverManager.getConnection(URL, "postgres", "");
        Statement st = c.createStatement()) {
      var rs =
          st.executeQuery(
              "SELECT count(*) FROM information_schema.schemata WHERE schema_name = '"
                  + PostgresAuditTrail.schema(madeUp)
                  + "'");
      rs.next();
      assertEquals(0, rs.getInt(1), "no schema for a made-up tenant");
      rs =
          st.executeQuery(
              "SELECT count(*) FROM "
                  + PostgresAuditTrail.schema(PostgresAuditTrail.NODE)
                  + ".records WHERE body LIKE '%"
                  + madeUp
                  + "%'");
      rs.next();
      assertEquals(4, rs.getInt(1), "the denials and the failed call are in the node's chain");
    } finally {
      sql("DROP SCHEMA IF EXISTS " + PostgresAuditTrail.schema(madeUp) + " CASCADE");
    }
    assertEquals(24, verify().records(), "the known tenant's denial is in its own chain");
  }

  @Test
  void anEditedRecordIsNamed() throws Exception {
    dba(
        "UPDATE "
            + schema
            + ".records SET body = replace(body, 'drill 7', 'drill 8') WHERE seq = 7");
    assertBroken("record 7 was changed");
  }

  @Test
  void aDeletedRecordIsNamed() throws Exception {
    dba("DELETE FROM " + schema + ".records WHERE seq = 10");
    assertBroken("record 10 is missing");
  }

  @Test
  void reorderedRecordsAreNamed() throws Exception {
    dba(
        "UPDATE " + schema + ".records SET seq = -12 WHERE seq = 12",
        "UPDATE " + schema + ".records SET seq = 12 WHERE seq = 13",
        "UPDATE " + schema + ".records SET seq = 13 WHERE seq = -12");
    assertBroken("record 12 does not follow record 11");
  }

  @Test
  void anInsertedRecordIsNamed() throws Exception {
    dba(
        "UPDATE " + schema + ".records SET seq = seq + 100 WHERE seq >= 15",
        "UPDATE " + schema + ".records SET seq = seq - 99 WHERE seq >= 115",
        "INSERT INTO "
            + schema
            + ".records SELECT 15, at, event, body, prev_hash, hash FROM "
            + schema
            + ".records WHERE seq = 14");
    assertBroken("record 15 does not follow record 14");
  }

  @Test
  void aRewrittenChainBreaksAtTheNextSignedCheckpoint() throws Exception {
    // rewrite record 3 and recompute every hash after it, as anyone can: the chain holds again,
    // but checkpoint 5 signed the old hash
    rewriteRecord3AndRehash();
    assertBroken("differ from what checkpoint 5 signed");
  }

  @Test
  void deletedTailAndForgedSignaturesAreNamed() throws Exception {
    dba("DELETE FROM " + schema + ".records WHERE seq = 23");
    assertBroken("trail ends at 22");
    drop();
    write();
    dba(
        "UPDATE "
            + schema
            + ".checkpoints SET signature = set_byte(signature, 10, get_byte(signature, 10) # 1) WHERE seq = 10");
    assertBroken("checkpoint 10 has a bad signature");
  }

  /** Checkpoints every 5 records, signed by a node of the test's CA, and {@code anchors}. */
  private AuditChain.Verdict verifyStrictly(List<AuditChain.Checkpoint> anchors) throws Exception {
    try (AuditReader r = new AuditReader(URL, "postgres", "")) {
      return r.verify(
          tenant,
          new AuditChain.Policy(
              5,
              Optional.of(
                  CheckpointSigners.fromBundle(
                      dir.resolve("pki").resolve(DevCa.CA_CERT), "openkcm.local")),
              anchors));
    }
  }

  private void assertStrictlyBroken(String expected) throws Exception {
    AuditChain.Verdict v = verifyStrictly(List.of());
    assertTrue(v.firstProblem().isPresent(), "tampering found: " + v);
    assertTrue(v.firstProblem().get().contains(expected), v.firstProblem().get());
  }

  @Test
  void theWriterMayOnlyAppend() throws Exception {
    for (String change :
        List.of(
            "UPDATE " + schema + ".records SET body = 'x' WHERE seq = 3",
            "DELETE FROM " + schema + ".records WHERE seq = 23",
            "TRUNCATE " + schema + ".records",
            "UPDATE " + schema + ".checkpoints SET signature = NULL",
            "DELETE FROM " + schema + ".checkpoints",
            "TRUNCATE " + schema + ".checkpoints")) {
      java.sql.SQLException refused =
          org.junit.jupiter.api.Assertions.assertThrows(
              java.sql.SQLException.class, () -> sql(change), change);
      assertTrue(refused.getMessage().contains("append-only"), refused.getMessage());
    }
    assertTrue(verifyStrictly(List.of()).ok(), "nothing changed");
  }

  @Test
  void deletedOrUnsignedCheckpointsFailAStrictVerification() throws Exception {
    assertTrue(verifyStrictly(List.of()).ok(), verifyStrictly(List.of()).toString());
    dba("DELETE FROM " + schema + ".checkpoints WHERE seq IN (10, 15)");
    assertTrue(verify().ok(), "the chain alone cannot tell");
    assertStrictlyBroken("no checkpoint between records 5 and 20");
    dba("DELETE FROM " + schema + ".checkpoints");
    assertStrictlyBroken("no checkpoint after record 0 of 23");
    drop();
    write();
    dba(
        "UPDATE "
            + schema
            + ".checkpoints SET algorithm = NULL, signature = NULL, certificate = NULL");
    assertTrue(verify().ok(), "the chain alone accepts unsigned checkpoints");
    assertStrictlyBroken("checkpoint 5 is not signed");
  }

  @Test
  void checkpointsReSignedWithAnotherCertificateFailAStrictVerification() throws Exception {
    // a rewrite re-signed with a certificate of the writer's own making: the row names it, so the
    // signature holds; it was not issued by the trust bundle, or not to a node
    for (String[] signer :
        new String[][] {{"evil-ca", "core/node-1"}, {"pki", "app/acme/payments"}}) {
      DevCa ca = DevCa.loadOrCreate(dir.resolve(signer[0]), "openkcm.local");
      Path crt = dir.resolve(signer[0] + "-signer.crt");
      Path key = dir.resolve(signer[0] + "-signer.key");
      ca.issue(
          SpiffeId.parse("spiffe://openkcm.local/" + signer[1]),
          Instant.now().minusSeconds(60),
          Instant.now().plus(Duration.ofDays(1)),
          crt,
          key);
      java.security.cert.X509Certificate cert = Pem.readCertificates(crt).get(0);
      java.security.PrivateKey pk = Pem.readPrivateKey(key);
      try (Connection c = dbaConnection();
          Statement st = c.createStatement();
          var rs = st.executeQuery("SELECT seq, hash, algorithm FROM " + schema + ".checkpoints");
          var ps =
              c.prepareStatement(
                  "UPDATE "
                      + schema
                      + ".checkpoints SET signature = ?, certificate = ? WHERE seq = ?")) {
        while (rs.next()) {
          java.security.Signature sig = java.security.Signature.getInstance(rs.getString(3));
          sig.initSign(pk);
          sig.update(AuditChain.checkpointPayload(tenant, rs.getLong(1), rs.getBytes(2)));
          ps.setBytes(1, sig.sign());
          ps.setString(2, java.util.Base64.getEncoder().encodeToString(cert.getEncoded()));
          ps.setLong(3, rs.getLong(1));
          ps.executeUpdate();
        }
      }
      assertTrue(verify().ok(), "the chain alone believes the row's certificate");
      assertStrictlyBroken(
          signer[0].equals("pki") ? "is not a node of openkcm.local" : "not issued by the trust");
    }
  }

  @Test
  void anchorsKeptOutsideCatchAChainRewrittenAndReSigned() throws Exception {
    List<AuditChain.Checkpoint> anchors;
    try (AuditReader r = new AuditReader(URL, "postgres", "")) {
      anchors = r.checkpoints(tenant); // what the tenant exported and keeps
    }
    assertTrue(verifyStrictly(anchors).ok());
    // the whole chain rewritten from record 3 on and its checkpoints dropped: the chain and the
    // gap rule alone could not tell if the writer re-checkpointed (not even needed here)
    rewriteRecord3AndRehash();
    dba("DELETE FROM " + schema + ".checkpoints");
    assertTrue(verify().ok(), "the chain alone holds");
    try (AuditReader r = new AuditReader(URL, "postgres", "")) {
      AuditChain.Verdict v = r.verify(tenant, new AuditChain.Policy(0, Optional.empty(), anchors));
      assertTrue(v.firstProblem().orElse("").contains("record 5 no longer hashes"), v.toString());
    }
  }

  /**
   * Rewrites record 3 and recomputes every hash after it, as anyone with write access can (with the
   * triggers switched off): the chain alone holds again.
   */
  private void rewriteRecord3AndRehash() throws Exception {
    List<AuditChain.Row> rows = new ArrayList<>();
    try (Connection c = DriverManager.getConnection(URL, "postgres", "");
        Statement st = c.createStatement();
        var rs = st.executeQuery("SELECT seq, at, body FROM " + schema + ".records ORDER BY seq")) {
      byte[] prev = AuditChain.GENESIS;
      while (rs.next()) {
        long seq = rs.getLong(1);
        Instant at = rs.getTimestamp(2).toInstant();
        String body = seq == 3 ? rs.getString(3).replace("drill 3", "nothing") : rs.getString(3);
        byte[] h = AuditChain.hash(seq, prev, at, body);
        rows.add(new AuditChain.Row(seq, at, body, prev, h));
        prev = h;
      }
    }
    try (Connection c = dbaConnection();
        var ps =
            c.prepareStatement(
                "UPDATE "
                    + schema
                    + ".records SET body = ?, prev_hash = ?, hash = ? WHERE seq = ?")) {
      for (AuditChain.Row r : rows) {
        ps.setString(1, r.body());
        ps.setBytes(2, r.prevHash());
        ps.setBytes(3, r.hash());
        ps.setLong(4, r.seq());
        ps.executeUpdate();
      }
    }
  }
}
