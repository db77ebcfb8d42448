package org.openkcm.node.audit;

import com.typesafe.config.Config;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Optional;
import javax.net.ssl.X509ExtendedKeyManager;
import org.openkcm.node.tls.MutualTls;

/**
 * Starts a node's persisted audit trail from {@code openkcm.audit.trail} (config/audit.conf),
 * signed with the node's certificate key when it has one, and registers it with {@link AuditLog}.
 */
public final class AuditTrailSettings {

  private AuditTrailSettings() {}

  /** A running trail: closing it unregisters it and writes what is queued. */
  public interface Running extends AutoCloseable {
    /** Records waiting for the audit thread (to be made, or written to the trail). */
    int backlog();

    @Override
    void close();
  }

  /**
   * Starts the trail of {@code system}'s node when configured: closed with the system, its backlog
   * exported as {@code openkcm_audit_backlog_records}.
   */
  public static void start(
      org.apache.pekko.actor.typed.ActorSystem<?> system, Optional<MutualTls> tls) {
    start(system.settings().config(), tls)
        .ifPresent(
            running -> {
              system.getWhenTerminated().thenRun(running::close);
              org.openkcm.node.metrics.NodeMetrics.get(system)
                  .gauge(
                      "openkcm_audit_backlog_records",
                      "Audit records waiting for the audit thread (to be made or written)",
                      running::backlog);
              org.openkcm.node.metrics.NodeMetrics.get(system)
                  .gauge(
                      "openkcm_audit_shed_requests",
                      "Requests refused (AUDIT_BACKLOG_FULL) since this JVM started because the"
                          + " audit queue was past its capacity; alert on any increase",
                      () -> (double) AuditLog.shed());
            });
  }

  /**
   * The trails running in this JVM by database (URL and user), with how many nodes use each. {@link
   * AuditLog} hands every record to every registered sink, so two nodes in one JVM (the demo, the
   * tests, the benchmark) share one trail: with one each, every record was written twice into the
   * same chain by two writers that kept clashing on sequence numbers.
   */
  private static final java.util.Map<String, Shared> SHARED = new java.util.HashMap<>();

  private static final class Shared {
    final PostgresAuditTrail trail;
    final AutoCloseable registration;
    int users;

    Shared(PostgresAuditTrail trail, AutoCloseable registration) {
      this.trail = trail;
      this.registration = registration;
    }
  }

  public static Optional<Running> start(Config root, Optional<MutualTls> tls) {
    Config c = root.getConfig("openkcm.audit.trail");
    if (!c.getBoolean("enabled")) {
      return Optional.empty();
    }
    String key = c.getString("url") + " as " + c.getString("user");
    Shared shared;
    synchronized (SHARED) {
      shared = SHARED.get(key);
      if (shared == null) {
        PostgresAuditTrail trail = open(c, tls);
        shared = new Shared(trail, AuditLog.addSink(trail));
        SHARED.put(key, shared);
      }
      shared.users++;
    }
    Shared used = shared;
    return Optional.of(
        new Running() {
          private boolean closed;

          @Override
          public int backlog() {
            return AuditLog.backlog();
          }

          @Override
          public void close() {
            synchronized (SHARED) {
              if (closed) {
                return;
              }
              closed = true;
              if (--used.users > 0) {
                return;
              }
              SHARED.remove(key);
            }
            try {
              used.registration.close();
            } catch (Exception e) {
              // removing from a list does not fail
            }
            used.trail.close();
          }
        });
  }

  /** A new trail writer (signed by the first node of this JVM that starts one). */
  private static PostgresAuditTrail open(Config c, Optional<MutualTls> tls) {
    return new PostgresAuditTrail(
        new PostgresAuditTrail.Settings(
            c.getString("url"),
            c.getString("user"),
            c.getString("password"),
            c.getInt("checkpoint-every"),
            c.getDuration("checkpoint-interval")),
        tls.map(AuditTrailSettings::signer),
        Clock.systemUTC());
  }

  private static PostgresAuditTrail.Signer signer(MutualTls tls) {
    X509ExtendedKeyManager km = tls.keyManager();
    X509Certificate[] chain = km.getCertificateChain("node");
    return new PostgresAuditTrail.Signer(km.getPrivateKey("node"), chain[0]);
  }
}
