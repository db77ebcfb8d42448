package org.openkcm.node.tls;

import com.typesafe.config.Config;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a node (or the CLI) gets its {@link MutualTls} from {@code openkcm.tls}, and uses it for
 * clients.
 */
public final class NodeTls {

  /** Validity of certificates the development CA issues to nodes and the CLI. */
  public static final Duration DEV_VALIDITY = Duration.ofDays(90);

  private static final Logger log = LoggerFactory.getLogger(NodeTls.class);

  private NodeTls() {}

  /**
   * This node's mTLS material, or empty when {@code openkcm.tls.enabled} is off (then a warning
   * says the listeners are plaintext). With {@code dev-ca} on, a development CA and the certificate
   * of {@code spiffe://<trust-domain>/<kind>/<name>} are created first when missing.
   */
  public static Optional<MutualTls> load(Config root, String kind, String name) {
    Config tls = root.getConfig("openkcm.tls");
    if (!tls.getBoolean("enabled")) {
      log.warn(
          "openkcm.tls.enabled = off: {} listens and calls in PLAINTEXT without peer authentication "
              + "(development/test profiles only)",
          kind);
      return Optional.empty();
    }
    MutualTls.Settings s = MutualTls.Settings.from(tls);
    if (tls.getBoolean("dev-ca")) {
      DevCa ca = DevCa.loadOrCreate(Path.of(tls.getString("dir")), s.trustDomain());
      if (!Files.exists(s.certFile()) || !Files.exists(s.keyFile())) {
        ca.issue(
            new SpiffeId(s.trustDomain(), List.of(kind, name)),
            DEV_VALIDITY,
            s.certFile(),
            s.keyFile());
      }
    }
    return Optional.of(MutualTls.load(s));
  }

  /**
   * The material of the command-line client {@code spiffe://<trust-domain>/admin/<name>} in the
   * development CA's directory ({@code <tls.dir>/<name>.crt|key}), issued first when missing; empty
   * when TLS is off.
   */
  public static Optional<MutualTls> loadDevClient(Config root, String name) {
    Config tls = root.getConfig("openkcm.tls");
    if (!tls.getBoolean("enabled")) {
      return Optional.empty();
    }
    Path dir = Path.of(tls.getString("dir"));
    String domain = tls.getString("trust-domain");
    DevCa.loadOrCreate(dir, domain)
        .ensure(dir, name, new SpiffeId(domain, List.of("admin", name)), DEV_VALIDITY);
    return Optional.of(MutualTls.load(MutualTls.Settings.forDir(dir, name)));
  }

  /**
   * {@code settings} over TLS with this node's certificate, accepting servers of {@code
   * serverKinds}.
   */
  public static GrpcClientSettings client(
      GrpcClientSettings settings, Optional<MutualTls> tls, Set<String> serverKinds) {
    return tls.map(t -> settings.withTls(true).withSslContext(t.sslContext(serverKinds)))
        .orElse(settings.withTls(false));
  }

  /**
   * {@code settings} over TLS with this node's certificate, accepting only a server whose id is
   * {@code server} or below it.
   */
  public static GrpcClientSettings clientOf(
      GrpcClientSettings settings, Optional<MutualTls> tls, SpiffeId server) {
    return tls.map(t -> settings.withTls(true).withSslContext(t.sslContextWithin(server)))
        .orElse(settings.withTls(false));
  }
}
