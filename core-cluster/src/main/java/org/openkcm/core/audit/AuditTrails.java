package org.openkcm.core.audit;

import com.typesafe.config.Config;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Optional;
import javax.net.ssl.X509ExtendedKeyManager;
import org.apache.pekko.actor.typed.ActorSystem;
import org.openkcm.node.audit.AuditLog;
import org.openkcm.node.audit.PostgresAuditTrail;
import org.openkcm.node.tls.MutualTls;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Starts the persisted audit trail of a Core node ({@code openkcm.audit.trail}) when it is on. */
public final class AuditTrails {

  private static final Logger log = LoggerFactory.getLogger(AuditTrails.class);

  private AuditTrails() {}

  public static Optional<PostgresAuditTrail> start(ActorSystem<?> system, Optional<MutualTls> tls) {
    Config c = system.settings().config().getConfig("openkcm.audit.trail");
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
            tls.map(AuditTrails::signer),
            Clock.systemUTC());
    AutoCloseable registration = AuditLog.addSink(trail);
    system
        .getWhenTerminated()
        .thenRun(
            () -> {
              try {
                registration.close();
              } catch (Exception e) {
                log.warn("audit sink removal failed: {}", e.toString());
              }
              trail.close();
            });
    return Optional.of(trail);
  }

  private static PostgresAuditTrail.Signer signer(MutualTls tls) {
    X509ExtendedKeyManager km = tls.keyManager();
    X509Certificate[] chain = km.getCertificateChain("node");
    return new PostgresAuditTrail.Signer(km.getPrivateKey("node"), chain[0]);
  }
}
