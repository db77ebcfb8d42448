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
    /** Records accepted and not yet committed. */
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
                      "Audit records accepted and not yet committed to the trail",
                      running::backlog);
            });
  }

  public static Optional<Running> start(Config root, Optional<MutualTls> tls) {
    Config c = root.getConfig("openkcm.audit.trail");
    if (!c.getBoolean("enabled")) {
      return Optional.empty();
    }
    PostgresAuditTrail trail =
        new PostgresAuditTrail(
            new PostgresAuditTrail.Settings(
                c.getString("url"),
                c.getString("user"),
                c.getString("password"),
                c.getInt("queue-capacity"),
                c.getInt("checkpoint-every"),
                c.getDuration("checkpoint-interval")),
            tls.map(AuditTrailSettings::signer),
            Clock.systemUTC());
    AutoCloseable registration = AuditLog.addSink(trail);
    return Optional.of(
        new Running() {
          @Override
          public int backlog() {
            return trail.backlog();
          }

          @Override
          public void close() {
            try {
              registration.close();
            } catch (Exception e) {
              // removing from a list does not fail
            }
            trail.close();
          }
        });
  }

  private static PostgresAuditTrail.Signer signer(MutualTls tls) {
    X509ExtendedKeyManager km = tls.keyManager();
    X509Certificate[] chain = km.getCertificateChain("node");
    return new PostgresAuditTrail.Signer(km.getPrivateKey("node"), chain[0]);
  }
}
