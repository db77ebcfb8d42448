package org.openkcm.node.audit;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit trail in PostgreSQL, append-only, one schema per tenant ({@code audit_<tenant>_<hash>},
 * node-wide records in {@code audit__node}): table {@code records} (seq, at, event, body,
 * prev_hash, hash — see {@link AuditChain}) and table {@code checkpoints} (seq, hash and a
 * signature by this node's certificate key every {@code checkpointEvery} records or {@code
 * checkpointInterval}). One writer thread takes records from a bounded queue (a full queue makes
 * the caller wait: nothing is dropped) and writes them in batches; several nodes may write one
 * tenant's chain (a clash on a sequence number re-reads the chain's end and writes again).
 */
public final class PostgresAuditTrail implements AuditSink, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(PostgresAuditTrail.class);
  public static final String NODE = "_node";
  private static final int MAX_BATCH = 1000;
  private static final long LINGER_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  /** Signs checkpoints: the node's certificate key and certificate. */
  public record Signer(PrivateKey key, X509Certificate certificate) {
    String algorithm() {
      return key.getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
    }
  }

  /** Settings. */
  public record Settings(
      String url,
      String user,
      String password,
      int queueCapacity,
      int checkpointEvery,
      Duration checkpointInterval) {}

  private record Pending(String tenant, String event, String json, Instant at) {}

  private static final class ChainEnd {
    String schema;
    long seq;
    byte[] hash;
    long sinceCheckpoint;
    Instant lastCheckpoint;
  }

  private final Settings settings;
  private final Optional<Signer> signer;
  private final Clock clock;
  private final BlockingQueue<Pending> queue;
  private final Map<String, ChainEnd> ends = new HashMap<>();
  private final Map<String, String> schemas = new HashMap<>();
  private final MessageDigest sha256 = AuditChain.sha256(); // the writer thread's
  private final Thread writer;
  private volatile boolean closed;
  private Connection connection;

  public PostgresAuditTrail(Settings settings, Optional<Signer> signer, Clock clock) {
    this.settings = settings;
    this.signer = signer;
    this.clock = clock;
    this.queue = new ArrayBlockingQueue<>(settings.queueCapacity());
    try {
      this.connection = connect();
    } catch (SQLException e) {
      throw new IllegalStateException(
          "audit trail: cannot reach " + settings.url() + ": " + e.getMessage(), e);
    }
    this.writer = new Thread(this::run, "audit-trail-writer");
    writer.setDaemon(true);
    writer.start();
    log.info(
        "audit trail in PostgreSQL ({}), checkpoints every {} records or {}, {}",
        settings.url(),
        settings.checkpointEvery(),
        settings.checkpointInterval(),
        signer
            .map(s -> "signed as " + s.certificate().getSubjectX500Principal())
            .orElse("UNSIGNED (no node certificate)"));
  }

  private Connection connect() throws SQLException {
    java.util.Properties props = new java.util.Properties();
    props.setProperty("user", settings.user());
    props.setProperty("password", settings.password());
    Connection c = DriverManager.getConnection(settings.url(), props);
    c.setAutoCommit(false);
    return c;
  }

  /** The schema of {@code tenant}'s trail: readable prefix plus a hash, so ids never collide. */
  public static String schema(String tenant) {
    if (tenant.equals(NODE)) {
      return "audit__node";
    }
    try {
      byte[] h =
          MessageDigest.getInstance("SHA-256").digest(tenant.getBytes(StandardCharsets.UTF_8));
      String readable = tenant.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9_]", "_");
      return "audit_"
          + readable.substring(0, Math.min(40, readable.length()))
          + "_"
          + HexFormat.of().formatHex(h, 0, 5);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void accept(String tenant, String event, String json) {
    accept(tenant, event, json, clock.instant());
  }

  @Override
  public void accept(String tenant, String event, String json, Instant at) {
    if (closed) {
      return;
    }
    Pending p =
        new Pending(
            tenant == null || tenant.isEmpty() ? NODE : tenant,
            event,
            json,
            // PostgreSQL keeps microseconds: the hashed instant must be the stored one
            at.truncatedTo(java.time.temporal.ChronoUnit.MICROS));
    accepted.incrementAndGet();
    try {
      if (!queue.offer(p)) {
        log.warn(
            "audit trail backlog full ({} records): the caller waits", settings.queueCapacity());
        queue.put(p);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Waits until every record accepted so far is written (tests, shutdown). */
  public void flush(Duration timeout) {
    AuditLog.flushDeferred(timeout); // records made off their callers' threads, first
    long target = accepted.get();
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (written) {
      long left;
      while (written.get() < target && (left = deadline - System.nanoTime()) > 0) {
        try {
          written.wait(Math.max(1, left / 1_000_000));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  private final java.util.concurrent.atomic.AtomicLong accepted =
      new java.util.concurrent.atomic.AtomicLong();
  private final java.util.concurrent.atomic.AtomicLong written =
      new java.util.concurrent.atomic.AtomicLong();

  private void run() {
    List<Pending> batch = new ArrayList<>();
    while (!closed || !queue.isEmpty() || !batch.isEmpty()) {
      try {
        Pending first = batch.isEmpty() ? queue.poll(200, TimeUnit.MILLISECONDS) : null;
        if (first != null) {
          batch.add(first);
          // Let a burst gather, then take it at once: one transaction (one commit) for many
          // records, and no wake-up of this thread per record (a record only wakes a writer that
          // waits for the first one, above).
          TimeUnit.NANOSECONDS.sleep(LINGER_NANOS);
          queue.drainTo(batch, MAX_BATCH - batch.size());
        }
        write(batch);
        checkpointDue(false);
      } catch (InterruptedException e) {
        // close(): what was taken or is queued is still written, the loop runs until none is left
      } catch (RuntimeException | SQLException e) {
        if (closed) {
          log.error(
              "audit trail: {} records not written before shutdown: {}",
              batch.size() + queue.size(),
              e.toString());
          break;
        }
        log.error(
            "audit trail write failed ({} records kept for the next attempt): {}",
            batch.size(),
            e.toString());
        reconnect();
        sleepQuietly();
      }
    }
  }

  private void write(List<Pending> batch) throws SQLException {
    if (batch.isEmpty()) {
      return;
    }
    Map<String, List<Pending>> byTenant = new LinkedHashMap<>();
    for (Pending p : batch) {
      byTenant.computeIfAbsent(p.tenant(), t -> new ArrayList<>()).add(p);
    }
    // One transaction (one commit) for the whole batch, whatever its tenants: a commit per tenant
    // cost a round trip and a WAL flush each. Any failure rolls back every chain of the batch;
    // their ends are read again from the database, and the batch is written again (a clash on a
    // sequence number: another node wrote the chain meanwhile).
    for (int attempt = 1; ; attempt++) {
      try {
        for (Map.Entry<String, List<Pending>> e : byTenant.entrySet()) {
          append(e.getKey(), e.getValue());
        }
        connection.commit();
        break;
      } catch (SQLException ex) {
        connection.rollback();
        byTenant.keySet().forEach(ends::remove);
        if (!"23505".equals(ex.getSQLState()) || attempt >= 5) {
          throw ex;
        }
      }
    }
    int n = batch.size();
    batch.clear();
    synchronized (written) {
      written.addAndGet(n);
      written.notifyAll();
    }
  }

  private void append(String tenant, List<Pending> records) throws SQLException {
    ChainEnd end = end(tenant);
    String schema = end.schema;
    long seq = end.seq;
    byte[] prev = end.hash;
    long since = end.sinceCheckpoint;
    List<long[]> checkpointAt = new ArrayList<>();
    List<byte[]> checkpointHash = new ArrayList<>();
    // COPY, not INSERT: the server parses no statement and plans nothing per batch; binary, not
    // text: it parses no timestamps, hex or escapes either (the trail's cost on the database is
    // per row; see docs/BENCHMARKS.md)
    CopyRows rows = new CopyRows(records.size());
    for (Pending p : records) {
      seq++;
      byte[] h = AuditChain.hash(sha256, seq, prev, p.at().toString(), p.json());
      rows.add(seq, p.at(), p.event(), p.json(), prev, h);
      prev = h;
      if (++since >= settings.checkpointEvery()) {
        checkpointAt.add(new long[] {seq});
        checkpointHash.add(h);
        since = 0;
      }
    }
    try {
      connection
          .unwrap(org.postgresql.PGConnection.class)
          .getCopyAPI()
          .copyIn(
              "COPY "
                  + schema
                  + ".records (seq, at, event, body, prev_hash, hash) FROM STDIN (FORMAT binary)",
              new java.io.ByteArrayInputStream(rows.toBytes()));
    } catch (java.io.IOException e) {
      throw new SQLException("audit trail: COPY into " + schema + " failed: " + e, e);
    }
    for (int i = 0; i < checkpointAt.size(); i++) {
      checkpoint(tenant, checkpointAt.get(i)[0], checkpointHash.get(i));
    }
    end.seq = seq;
    end.hash = prev;
    end.sinceCheckpoint = since;
    if (!checkpointAt.isEmpty()) {
      end.lastCheckpoint = clock.instant();
    }
  }

  /** {@link #schema}, computed once per tenant (a hash and a regex: not once per batch). */
  private String schemaOf(String tenant) {
    return schemas.computeIfAbsent(tenant, PostgresAuditTrail::schema);
  }

  /** The end of {@code tenant}'s chain: cached, or read (creating the schema on first use). */
  private ChainEnd end(String tenant) throws SQLException {
    ChainEnd end = ends.get(tenant);
    if (end != null) {
      return end;
    }
    String schema = schemaOf(tenant);
    try (Statement st = connection.createStatement()) {
      st.execute("CREATE SCHEMA IF NOT EXISTS " + schema);
      st.execute(
          "CREATE TABLE IF NOT EXISTS "
              + schema
              + ".records (seq bigint PRIMARY KEY, at timestamptz NOT NULL,"
              + " event text NOT NULL, body text NOT NULL, prev_hash bytea NOT NULL, hash bytea NOT NULL)");
      st.execute(
          "CREATE TABLE IF NOT EXISTS "
              + schema
              + ".checkpoints (seq bigint PRIMARY KEY, hash bytea NOT NULL,"
              + " signed_at timestamptz NOT NULL, algorithm text, signature bytea, certificate text)");
    }
    end = new ChainEnd();
    end.schema = schema;
    end.seq = 0;
    end.hash = AuditChain.GENESIS;
    end.lastCheckpoint = clock.instant();
    try (Statement st = connection.createStatement();
        ResultSet rs =
            st.executeQuery(
                "SELECT seq, hash FROM " + schema + ".records ORDER BY seq DESC LIMIT 1")) {
      if (rs.next()) {
        end.seq = rs.getLong(1);
        end.hash = rs.getBytes(2);
      }
    }
    ends.put(tenant, end);
    return end;
  }

  private void checkpointDue(boolean all) throws SQLException {
    Instant now = clock.instant();
    boolean due = false;
    for (Map.Entry<String, ChainEnd> e : ends.entrySet()) {
      ChainEnd end = e.getValue();
      if (end.sinceCheckpoint > 0
          && (all
              || Duration.between(end.lastCheckpoint, now).compareTo(settings.checkpointInterval())
                  >= 0)) {
        checkpoint(e.getKey(), end.seq, end.hash);
        end.sinceCheckpoint = 0;
        end.lastCheckpoint = now;
        due = true;
      }
    }
    if (due) {
      connection.commit(); // all of them at once
    }
  }

  private void checkpoint(String tenant, long seq, byte[] hash) throws SQLException {
    byte[] signature = null;
    String algorithm = null;
    String certificate = null;
    if (signer.isPresent()) {
      try {
        Signature s = Signature.getInstance(signer.get().algorithm());
        s.initSign(signer.get().key());
        s.update(AuditChain.checkpointPayload(tenant, seq, hash));
        signature = s.sign();
        algorithm = signer.get().algorithm();
        certificate =
            java.util.Base64.getEncoder().encodeToString(signer.get().certificate().getEncoded());
      } catch (java.security.GeneralSecurityException e) {
        log.error("audit checkpoint of {} not signed: {}", tenant, e.toString());
      }
    }
    try (PreparedStatement ps =
        connection.prepareStatement(
            "INSERT INTO "
                + schema(tenant)
                + ".checkpoints (seq, hash, signed_at, algorithm, signature, certificate)"
                + " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (seq) DO NOTHING")) {
      ps.setLong(1, seq);
      ps.setBytes(2, hash);
      ps.setTimestamp(3, Timestamp.from(clock.instant()));
      ps.setString(4, algorithm);
      ps.setBytes(5, signature);
      ps.setString(6, certificate);
      ps.executeUpdate();
    }
  }

  private void reconnect() {
    ends.clear();
    try {
      connection.close();
    } catch (SQLException e) {
      // replaced below
    }
    try {
      connection = connect();
    } catch (SQLException e) {
      log.error("audit trail: reconnecting failed: {}", e.getMessage());
    }
  }

  /** The writer's back-off after a failed write (its own thread; the queue keeps filling). */
  private static void sleepQuietly() {
    try {
      Thread.sleep(500);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Records accepted and not yet committed. */
  public int backlog() {
    return queue.size();
  }

  /** Writes what is queued, checkpoints every chain, stops. */
  @Override
  public void close() {
    flush(Duration.ofSeconds(10));
    closed = true;
    writer.interrupt();
    try {
      writer.join(10_000);
      checkpointDue(true);
      connection.close();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (SQLException e) {
      log.warn("audit trail: final checkpoint failed: {}", e.getMessage());
    }
  }
}
