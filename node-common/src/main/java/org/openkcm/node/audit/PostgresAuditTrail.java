package org.openkcm.node.audit;

import static java.util.concurrent.TimeUnit.MILLISECONDS;

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
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.openkcm.node.concurrent.DaemonThreads;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit trail in PostgreSQL, append-only, one schema per tenant ({@code audit_<tenant>_<hash>},
 * node-wide records in {@code audit__node}): table {@code records} (seq, at, event, body,
 * prev_hash, hash — see {@link AuditChain}) and table {@code checkpoints} (seq, hash and a
 * signature by this node's certificate key every {@code checkpointEvery} records or {@code
 * checkpointInterval}). It has no queue or thread of its own: {@link AuditLog}'s audit thread hands
 * it each batch ({@link #acceptAll}), which it hashes and writes in one transaction there. A failed
 * write is retried (reconnecting) until it succeeds or the trail closes: meanwhile the audit queue
 * fills and the nodes refuse new requests ({@link AuditLog#admitting}). Several nodes may write one
 * tenant's chain (a clash on a sequence number re-reads the chain's end and writes again).
 */
public final class PostgresAuditTrail implements AuditSink, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(PostgresAuditTrail.class);
  public static final String NODE = "_node";
  private static final Duration RETRY_AFTER = Duration.ofMillis(500);

  /** Signs checkpoints: the node's certificate key and certificate. */
  public record Signer(PrivateKey key, X509Certificate certificate) {
    String algorithm() {
      return key.getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
    }
  }

  /** Settings. */
  public record Settings(
      String url, String user, String password, int checkpointEvery, Duration checkpointInterval) {}

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
  private final Map<String, ChainEnd> ends = new HashMap<>();
  private final Map<String, String> schemas = new HashMap<>();
  private final MessageDigest sha256 = AuditChain.sha256(); // used under this object's lock
  private final InstantText instantText = new InstantText(); // so is this
  private final ScheduledExecutorService checkpoints;
  private volatile boolean closed;
  private volatile long clashes;
  private Connection connection;

  public PostgresAuditTrail(Settings settings, Optional<Signer> signer, Clock clock) {
    this.settings = settings;
    this.signer = signer;
    this.clock = clock;
    try {
      this.connection = connect();
    } catch (SQLException e) {
      throw new IllegalStateException(
          "audit trail: cannot reach " + settings.url() + ": " + e.getMessage(), e);
    }
    // checkpoints due by time are signed even while no record comes
    this.checkpoints =
        Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("audit-trail-checkpoints"));
    long every = Math.max(100, Math.min(1000, settings.checkpointInterval().toMillis()));
    checkpoints.scheduleWithFixedDelay(this::checkpointsDueByTime, every, every, MILLISECONDS);
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

  /** One record, written before this returns (tests; the nodes' records come by batch). */
  @Override
  public void accept(String tenant, String event, String json) {
    acceptAll(List.of(new Entry(tenant, event, json, clock.instant())));
  }

  /**
   * Hashes and writes {@code batch} in one transaction, retrying (reconnecting) until it is written
   * or the trail closes: the audit thread waits here while the database is away.
   */
  @Override
  public synchronized void acceptAll(List<Entry> batch) {
    while (true) {
      if (closed) {
        log.error("audit trail closed: {} records not written", batch.size());
        return;
      }
      try {
        write(batch);
      } catch (RuntimeException | SQLException e) {
        log.error(
            "audit trail write failed ({} records kept, retried in {}): {}",
            batch.size(),
            RETRY_AFTER,
            e.toString());
        reconnect();
        sleepQuietly();
        continue;
      }
      checkpointsDueByTime(); // written: a failed checkpoint must not write the batch twice
      return;
    }
  }

  /** Waits until every record made so far is written (tests, shutdown). */
  public void flush(Duration timeout) {
    AuditLog.flushDeferred(timeout);
  }

  private void write(List<Entry> batch) throws SQLException {
    if (batch.isEmpty()) {
      return;
    }
    Map<String, List<Entry>> byTenant = new LinkedHashMap<>();
    for (Entry p : batch) {
      String tenant = p.tenant() == null || p.tenant().isEmpty() ? NODE : p.tenant();
      if (!tenant.equals(NODE) && refusal(p) && !hasChain(tenant)) {
        // a denial or a failed call never creates a tenant's chain (a flood of made-up tenant ids
        // would make a schema each): it goes to the node's chain, the tenant named in its body
        tenant = NODE;
      }
      byTenant.computeIfAbsent(tenant, t -> new ArrayList<>()).add(p);
    }
    // One transaction (one commit) for the whole batch, whatever its tenants: a commit per tenant
    // cost a round trip and a WAL flush each. Any failure rolls back every chain of the batch;
    // their ends are read again from the database, and the batch is written again (a clash on a
    // sequence number: another node wrote the chain meanwhile).
    for (int attempt = 1; ; attempt++) {
      try {
        for (Map.Entry<String, List<Entry>> e : byTenant.entrySet()) {
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
        clashes++;
        log.info(
            "audit trail: another writer appended to {} meanwhile; writing again",
            byTenant.keySet());
      }
    }
  }

  private void append(String tenant, List<Entry> records) throws SQLException {
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
    for (Entry p : records) {
      seq++;
      // PostgreSQL keeps microseconds: the hashed instant must be the stored one
      Instant at = p.at().truncatedTo(ChronoUnit.MICROS);
      byte[] body = p.json().getBytes(StandardCharsets.UTF_8);
      byte[] h = AuditChain.hash(sha256, seq, prev, instantText.of(at), body);
      rows.add(seq, at, p.event(), body, prev, h);
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

  /** Tenants found to have no chain yet (bounded; a tenant's first allowed record makes one). */
  private final java.util.Set<String> noChain =
      java.util.Collections.newSetFromMap(
          new java.util.LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
              return size() > 10_000;
            }
          });

  /**
   * Whether {@code e} records an authorization denial or a call that did not succeed (a key
   * request's or a gateway call's {@code outcome} other than ok): nothing that proves the tenant
   * exists.
   */
  private static boolean refusal(Entry e) {
    String json = e.json();
    if ("authz".equals(e.event())) {
      return json.contains("\"decision\":\"deny\"");
    }
    return json.contains("\"outcome\":\"") && !json.contains("\"outcome\":\"ok\"");
  }

  /** Whether {@code tenant}'s chain exists (cached, or its schema in the database). */
  private boolean hasChain(String tenant) throws SQLException {
    if (ends.containsKey(tenant)) {
      return true;
    }
    if (noChain.contains(tenant)) {
      return false;
    }
    try (PreparedStatement ps =
        connection.prepareStatement(
            "SELECT 1 FROM information_schema.schemata WHERE schema_name = ?")) {
      ps.setString(1, schemaOf(tenant));
      try (ResultSet rs = ps.executeQuery()) {
        if (rs.next()) {
          return true;
        }
      }
    }
    noChain.add(tenant);
    return false;
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
    noChain.remove(tenant);
    try (Statement st = connection.createStatement()) {
      // the nodes of a region create a tenant's chain at once: one at a time (in this batch's
      // transaction, released at its commit)
      try (PreparedStatement lock =
          connection.prepareStatement("SELECT pg_advisory_xact_lock(hashtext(?))")) {
        lock.setString(1, "openkcm-ddl:" + schema);
        lock.execute();
      }
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
      appendOnly(st, schema);
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
    // records since the chain's last checkpoint count toward the next one, whoever wrote them:
    // checkpoints stay at most checkpoint-every apart across restarts and writers (verify checks)
    try (Statement st = connection.createStatement();
        ResultSet rs =
            st.executeQuery("SELECT coalesce(max(seq), 0) FROM " + schema + ".checkpoints")) {
      end.sinceCheckpoint = rs.next() ? Math.max(0, end.seq - rs.getLong(1)) : end.seq;
    }
    ends.put(tenant, end);
    return end;
  }

  /**
   * The chain's tables take INSERTs only: an UPDATE, DELETE or TRUNCATE by the writer (or anyone
   * who does not first switch triggers off, as only an owner or superuser can) fails. Whoever does
   * switch them off is still caught by {@code verify}: the hashes, the signed checkpoints and, kept
   * outside, the tenant's exported anchors.
   */
  private static void appendOnly(Statement st, String schema) throws SQLException {
    st.execute(
        "CREATE OR REPLACE FUNCTION "
            + schema
            + ".append_only() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION"
            + " 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME"
            + " USING ERRCODE = 'insufficient_privilege'; END $$ LANGUAGE plpgsql");
    for (String table : List.of("records", "checkpoints")) {
      st.execute(
          "CREATE OR REPLACE TRIGGER "
              + table
              + "_append_only BEFORE UPDATE OR DELETE ON "
              + schema
              + "."
              + table
              + " FOR EACH ROW EXECUTE FUNCTION "
              + schema
              + ".append_only()");
      st.execute(
          "CREATE OR REPLACE TRIGGER "
              + table
              + "_no_truncate BEFORE TRUNCATE ON "
              + schema
              + "."
              + table
              + " FOR EACH STATEMENT EXECUTE FUNCTION "
              + schema
              + ".append_only()");
    }
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
                + schemaOf(tenant)
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

  /** The back-off after a failed write (the audit thread; its queue keeps filling meanwhile). */
  private static void sleepQuietly() {
    try {
      Thread.sleep(RETRY_AFTER.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Batches written again because another writer had appended to one of their chains. */
  long clashes() {
    return clashes;
  }

  /** Signs the checkpoints due by time (the checkpoint thread). */
  private synchronized void checkpointsDueByTime() {
    if (closed) {
      return;
    }
    try {
      checkpointDue(false);
    } catch (SQLException | RuntimeException e) {
      log.warn("audit trail: checkpoint failed, retried with the next write: {}", e.toString());
      reconnect();
    }
  }

  /** Writes what the audit queue holds, checkpoints every chain, stops. */
  @Override
  public void close() {
    flush(Duration.ofSeconds(10));
    closed = true; // a write still retrying gives up
    checkpoints.shutdownNow();
    synchronized (this) {
      try {
        checkpointDue(true);
        connection.close();
      } catch (SQLException e) {
        log.warn("audit trail: final checkpoint failed: {}", e.getMessage());
      }
    }
  }
}
