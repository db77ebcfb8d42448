package org.openkcm.core.cluster;

import com.typesafe.config.Config;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.remote.artery.tcp.SSLEngineProvider;
import org.openkcm.node.tls.MutualTls;
import org.openkcm.node.tls.NodeTls;
import org.openkcm.node.tls.SpiffeId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Option;

/**
 * The Core's cluster transport (Artery {@code tls-tcp}) on the same PKI and reloading material as
 * every other link ({@link MutualTls}, {@code openkcm.tls}): TLS 1.3, both sides present a
 * certificate, and a peer is accepted only with a {@code spiffe://<trust-domain>/core/<name>}
 * identity whose chain leads to the trust bundle. A gateway, app or admin certificate, a
 * certificate of another CA, or none never completes the handshake, so it can neither join the
 * cluster nor send to an actor. Named in {@code pekko.remote.artery.ssl.ssl-engine-provider}
 * (config/core/cluster.conf); Pekko creates it with the actor system.
 */
public final class ArteryTls implements SSLEngineProvider {

  /** The only identity kind the cluster transport accepts. */
  public static final Set<String> PEER_KINDS = Set.of("core");

  private static final Logger log = LoggerFactory.getLogger(ArteryTls.class);

  /**
   * Inbound handshakes started, per canonical Artery port of this JVM (operators' counter and
   * tests' probe).
   */
  private static final Map<Integer, AtomicLong> INBOUND = new ConcurrentHashMap<>();

  private final MutualTls tls;
  private final SSLContext context;
  private final AtomicLong inbound;
  private final SpiffeId members;

  public ArteryTls(ActorSystem system) {
    Config config = system.settings().config();
    this.tls =
        NodeTls.load(config, "core", config.getString("openkcm.tls.name"))
            .orElseThrow(
                () ->
                    new IllegalStateException(
                        "pekko.remote.artery.transport = tls-tcp needs openkcm.tls.enabled = on"));
    if (!tls.identity().kind().equals("core")) {
      throw new IllegalStateException(
          "the cluster transport presents "
              + tls.identity()
              + ", not a core/ identity: set openkcm.tls.cert-file to this node's core certificate");
    }
    this.members = members(config, tls.identity());
    if (!tls.identity().isWithin(members)) {
      throw new IllegalStateException(
          "the cluster transport presents "
              + tls.identity()
              + ", but with openkcm.orbital.enabled a Core's identity names its region: "
              + members
              + " or "
              + members
              + "/<node> (openkcm.tls.name / cert-file)");
    }
    this.context = tls.sslContext(PEER_KINDS);
    this.inbound =
        INBOUND.computeIfAbsent(
            config.getInt("pekko.remote.artery.canonical.port"), p -> new AtomicLong());
    log.info(
        "cluster transport: mutual TLS {} as {}, accepting only identities within {}",
        tls.settings().protocols(),
        tls.identity(),
        members);
  }

  /**
   * Who may be a member of this cluster: every {@code core/} identity of the trust domain, or —
   * with Orbital on, where other regions' Cores share the trust domain — only this region's, {@code
   * spiffe://<domain>/core/<region>} and below it (so another region's Core never joins).
   */
  static SpiffeId members(Config config, SpiffeId own) {
    boolean regions =
        config.hasPath("openkcm.orbital.enabled") && config.getBoolean("openkcm.orbital.enabled");
    return regions
        ? new SpiffeId(
            own.trustDomain(), java.util.List.of("core", config.getString("openkcm.core.region")))
        : new SpiffeId(own.trustDomain(), java.util.List.of("core"));
  }

  /**
   * How many inbound cluster-transport handshakes the node with canonical port {@code port} has
   * started.
   */
  public static long inboundHandshakes(int port) {
    AtomicLong n = INBOUND.get(port);
    return n == null ? 0 : n.get();
  }

  @Override
  public SSLEngine createServerSSLEngine(String hostname, int port) {
    inbound.incrementAndGet();
    return tls.serverEngine(context);
  }

  @Override
  public SSLEngine createClientSSLEngine(String hostname, int port) {
    SSLEngine engine = context.createSSLEngine(hostname, port);
    engine.setUseClientMode(true);
    engine.setEnabledProtocols(tls.settings().protocols().toArray(String[]::new));
    return engine;
  }

  @Override
  public Option<Throwable> verifyClientSession(String hostname, SSLSession session) {
    return verify(session);
  }

  @Override
  public Option<Throwable> verifyServerSession(String hostname, SSLSession session) {
    return verify(session);
  }

  /**
   * The trust manager already checked the chain and kind; this refuses a session without a member
   * identity (another region's Core under Orbital, or somehow no core id).
   */
  private Option<Throwable> verify(SSLSession session) {
    Optional<SpiffeId> peer = MutualTls.peer(session);
    if (peer.isPresent()
        && PEER_KINDS.contains(peer.get().kind())
        && peer.get().isWithin(members)) {
      return Option.empty();
    }
    String who = peer.map(SpiffeId::uri).orElse("without identity");
    log.warn("cluster transport: refused peer {} (members must be within {})", who, members);
    return Option.apply(
        new SecurityException(
            "cluster peer " + who + " is not a member identity within " + members));
  }
}
