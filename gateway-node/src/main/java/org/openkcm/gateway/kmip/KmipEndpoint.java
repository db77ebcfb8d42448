package org.openkcm.gateway.kmip;

import com.typesafe.config.Config;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import org.openkcm.gateway.GatewayNode;
import org.openkcm.gateway.datakey.DataKeyServiceImpl;
import org.openkcm.gateway.store.SqlDatabase;
import org.openkcm.kmip.message.KmipException;
import org.openkcm.kmip.message.Operation;
import org.openkcm.kmip.message.ResultReason;
import org.openkcm.kmip.server.InMemoryObjectStore;
import org.openkcm.kmip.server.KmipEngine;
import org.openkcm.kmip.server.KmipListener;
import org.openkcm.kmip.server.ObjectStore;
import org.openkcm.kmip.server.Owner;
import org.openkcm.kmip.ttlv.TtlvCodec;
import org.openkcm.node.authz.Authorizer;
import org.openkcm.node.tls.MutualTls;
import org.openkcm.node.tls.SpiffeId;
import org.openkcm.protocol.error.OpenKcmException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's KMIP endpoint ({@code openkcm.gateway.kmip}): mutual TLS only, clients with an
 * application identity ({@code app/<tenant>/<service>}), each operation authorized by the Cedar
 * policies as action {@code Kmip<Operation>} (e.g. {@code KmipGet}) on the tenant for the service.
 */
public final class KmipEndpoint {

  private static final Logger log = LoggerFactory.getLogger(KmipEndpoint.class);

  /** Settings under {@code openkcm.gateway.kmip}. */
  public record Settings(
      boolean enabled, KmipListener.Settings listener, int maxBatchItems, Duration requestTimeout) {

    public static Settings from(Config k) {
      long maxMessage = k.getBytes("max-message-size");
      if (maxMessage < 1024 || maxMessage > 64L << 20) {
        throw new IllegalArgumentException(
            "openkcm.gateway.kmip.max-message-size must be 1 KiB to 64 MiB, was " + maxMessage);
      }
      return new Settings(
          k.getBoolean("enabled"),
          new KmipListener.Settings(
              k.getString("host"),
              k.getInt("port"),
              k.getInt("max-connections"),
              k.getDuration("idle-timeout"),
              new TtlvCodec.Limits((int) maxMessage, k.getInt("max-depth"), k.getInt("max-items")),
              k.getInt("max-handshakes"),
              k.getDuration("handshake-timeout"),
              k.getStringList("protocols"),
              k.getInt("max-connections-per-owner")),
          k.getInt("max-batch-items"),
          k.getDuration("request-timeout"));
    }
  }

  private KmipEndpoint() {}

  /**
   * Starts the listener when enabled and the gateway runs with mutual TLS (KMIP is never offered in
   * plaintext); it closes with the actor system.
   */
  public static Optional<KmipListener> start(
      org.apache.pekko.actor.typed.ActorSystem<?> system,
      GatewayNode.Wiring wiring,
      DataKeyServiceImpl dataKeys) {
    Settings s = Settings.from(system.settings().config().getConfig("openkcm.gateway.kmip"));
    if (!s.enabled()) {
      return Optional.empty();
    }
    if (wiring.tls().isEmpty()) {
      log.warn("KMIP is enabled but this gateway runs without mTLS: KMIP is not started");
      return Optional.empty();
    }
    MutualTls tls = wiring.tls().get();
    KmipEngine engine =
        new KmipEngine(
            wiring.kmipObjects(),
            new ChainKeyProtector(
                dataKeys, wiring.core(), wiring.tenants(), new SecureRandom(), s.requestTimeout()),
            gate(wiring.authz(), tls.identity().trustDomain()),
            new SecureRandom(),
            Clock.systemUTC(),
            s.maxBatchItems(),
            s.listener().limits());
    try {
      KmipListener listener =
          new KmipListener(
              tls.sslContext(Set.of("app")),
              s.listener(),
              engine,
              session -> MutualTls.peer(session).flatMap(KmipEndpoint::owner));
      system.getWhenTerminated().thenRun(listener::close);
      return Optional.of(listener);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "KMIP could not listen on " + s.listener().host() + ":" + s.listener().port(), e);
    }
  }

  /**
   * Where KMIP objects live ({@code openkcm.gateway.kmip.store}): memory, the embedded H2 file
   * under the data dir, or PostgreSQL (closed with the actor system).
   */
  public static ObjectStore store(org.apache.pekko.actor.typed.ActorSystem<?> system) {
    Config k = system.settings().config().getConfig("openkcm.gateway.kmip");
    String kind = k.getString("store");
    switch (kind) {
      case "memory":
        return new InMemoryObjectStore();
      case "postgres", "embedded":
        JdbcObjectStore store =
            new JdbcObjectStore(
                SqlDatabase.open(k.getConfig(kind), "openkcm-kmip"), k.getString("schema"));
        system.getWhenTerminated().thenRun(store::close);
        log.info("KMIP objects in the {} database, schema {}", kind, k.getString("schema"));
        return store;
      default:
        throw new IllegalArgumentException(
            "openkcm.gateway.kmip.store must be memory, embedded or postgres, was " + kind);
    }
  }

  /** {@code spiffe://<domain>/app/<tenant>/<service>} → its owner. */
  static Optional<Owner> owner(SpiffeId id) {
    List<String> seg = id.segments();
    if (seg.size() == 3 && seg.get(0).equals("app")) {
      return Optional.of(new Owner(seg.get(1), seg.get(2)));
    }
    return Optional.empty();
  }

  /** "Kmip" + the operation in CamelCase: GET_ATTRIBUTE_LIST → KmipGetAttributeList. */
  public static String action(Operation op) {
    StringBuilder out = new StringBuilder("Kmip");
    for (String w : op.name().split("_")) {
      out.append(w.charAt(0)).append(w.substring(1).toLowerCase(Locale.ROOT));
    }
    return out.toString();
  }

  private static KmipEngine.Gate gate(Optional<Authorizer> authz, String trustDomain) {
    if (authz.isEmpty()) {
      return KmipEngine.Gate.OPEN;
    }
    return (owner, op) -> {
      SpiffeId caller = new SpiffeId(trustDomain, List.of("app", owner.tenant(), owner.service()));
      try {
        authz
            .get()
            .require(
                Optional.of(caller),
                action(op),
                Authorizer.Resource.tenant(owner.tenant()),
                owner.service(),
                "kmip");
      } catch (OpenKcmException e) {
        throw new KmipException(ResultReason.PERMISSION_DENIED, e.getMessage());
      }
    };
  }
}
