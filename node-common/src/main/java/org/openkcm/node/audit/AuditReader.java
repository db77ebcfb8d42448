package org.openkcm.node.audit;

import java.io.ByteArrayInputStream;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Reads a tenant's persisted trail straight from PostgreSQL (the auditor's view: it needs no
 * running node and does not trust one): verify the chain, export records.
 */
public final class AuditReader implements AutoCloseable {

  private final Connection c;

  public AuditReader(String url, String user, String password) throws SQLException {
    this.c = DriverManager.getConnection(url, user, password);
    c.setReadOnly(true);
  }

  /**
   * A reader of the trail database a node writes to: {@code trail} is its {@code
   * openkcm.audit.trail} section (url, user, password).
   */
  public static AuditReader open(com.typesafe.config.Config trail) throws SQLException {
    return new AuditReader(
        trail.getString("url"), trail.getString("user"), trail.getString("password"));
  }

  /** Whether {@code tenant} has a trail here. */
  public boolean exists(String tenant) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = 'records'")) {
      ps.setString(1, PostgresAuditTrail.schema(tenant));
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  public AuditChain.Verdict verify(String tenant) throws SQLException {
    return verify(tenant, AuditChain.Policy.LENIENT);
  }

  /** The tenant's chain verified as {@code policy} asks. */
  public AuditChain.Verdict verify(String tenant, AuditChain.Policy policy) throws SQLException {
    return AuditChain.verify(tenant, rows(tenant), checkpoints(tenant), policy);
  }

  private List<AuditChain.Row> rows(String tenant) throws SQLException {
    String schema = PostgresAuditTrail.schema(tenant);
    List<AuditChain.Row> rows = new ArrayList<>();
    try (PreparedStatement ps =
            c.prepareStatement(
                "SELECT seq, at, body, prev_hash, hash FROM " + schema + ".records ORDER BY seq");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        rows.add(
            new AuditChain.Row(
                rs.getLong(1),
                rs.getTimestamp(2).toInstant(),
                rs.getString(3),
                rs.getBytes(4),
                rs.getBytes(5)));
      }
    }
    return rows;
  }

  /** The tenant's checkpoints as stored, oldest first. */
  public List<AuditChain.Checkpoint> checkpoints(String tenant) throws SQLException {
    String schema = PostgresAuditTrail.schema(tenant);
    List<AuditChain.Checkpoint> cps = new ArrayList<>();
    try (PreparedStatement ps =
            c.prepareStatement(
                "SELECT seq, hash, algorithm, signature, certificate FROM "
                    + schema
                    + ".checkpoints ORDER BY seq");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        cps.add(
            new AuditChain.Checkpoint(
                rs.getLong(1),
                rs.getBytes(2),
                rs.getString(3),
                rs.getBytes(4),
                certificate(rs.getString(5))));
      }
    }
    return cps;
  }

  /** Each record since {@code since} (inclusive) as one JSON line: seq, at, hash and the record. */
  public long export(String tenant, Optional<Instant> since, Consumer<String> out)
      throws SQLException {
    String schema = PostgresAuditTrail.schema(tenant);
    long n = 0;
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT seq, at, hash, body FROM " + schema + ".records WHERE at >= ? ORDER BY seq")) {
      ps.setTimestamp(1, Timestamp.from(since.orElse(Instant.EPOCH)));
      ps.setFetchSize(1000);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.accept(line(rs));
          n++;
        }
      }
    }
    return n;
  }

  private static Optional<X509Certificate> certificate(String base64) {
    if (base64 == null) {
      return Optional.empty();
    }
    try {
      return Optional.of(
          (X509Certificate)
              CertificateFactory.getInstance("X.509")
                  .generateCertificate(
                      new ByteArrayInputStream(Base64.getDecoder().decode(base64))));
    } catch (CertificateException | IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  /** One exported record and its number in the chain. */
  public record Line(long seq, String json) {}

  /**
   * The newest {@code limit} records of {@code tenant}, newest first, in {@link #export}'s form: at
   * or after {@code since}, and only those of {@code event} when it is given (and not blank). Read
   * by the database, not the whole chain into memory (the console's and REST API's search).
   */
  public List<Line> newest(
      String tenant, Optional<Instant> since, Optional<String> event, int limit)
      throws SQLException {
    Optional<String> only = event.filter(e -> !e.isBlank());
    List<Line> out = new ArrayList<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT seq, at, hash, body FROM "
                + PostgresAuditTrail.schema(tenant)
                + ".records WHERE at >= ?"
                + (only.isPresent() ? " AND event = ?" : "")
                + " ORDER BY seq DESC LIMIT ?")) {
      int i = 1;
      ps.setTimestamp(i++, Timestamp.from(since.orElse(Instant.EPOCH)));
      if (only.isPresent()) {
        ps.setString(i++, only.get());
      }
      ps.setInt(i, limit);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(new Line(rs.getLong(1), line(rs)));
        }
      }
    }
    return out;
  }

  /** A row of {@code seq, at, hash, body} as one JSON line. */
  private static String line(ResultSet rs) throws SQLException {
    return "{\"seq\":"
        + rs.getLong(1)
        + ",\"at\":\""
        + rs.getTimestamp(2).toInstant()
        + "\",\"hash\":\""
        + AuditChain.hex(rs.getBytes(3))
        + "\",\"record\":"
        + rs.getString(4)
        + "}";
  }

  @Override
  public void close() throws SQLException {
    c.close();
  }
}
