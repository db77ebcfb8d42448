package org.openkcm.gateway;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.openkcm.gateway.corelink.CoreLink;
import org.openkcm.gateway.pool.DekPool;

/**
 * Everything a gateway reads from {@code openkcm.gateway} (config/gateway/gateway.conf, where each
 * setting is documented), read once and typed. The vault's settings stay a {@link Config}: each
 * backend reads its own.
 */
public record GatewaySettings(
    String name,
    Core core,
    Watch watch,
    Optional<Cache> cache,
    Optional<DekPool.Settings> pool,
    Batching batching,
    int defaultKeyLength,
    int maxBatch,
    Grpc grpc,
    Config vault) {

  /** Where the Core is and how to call it. */
  /**
   * @param keyEndpoints where unary key calls go (the Core nodes' key listeners, same order as
   *     {@code endpoints}); {@code endpoints} itself when none is configured
   */
  public record Core(
      List<CoreLink.Endpoint> endpoints,
      List<CoreLink.Endpoint> keyEndpoints,
      Duration requestTimeout,
      boolean streaming,
      String client) {}

  /** The tenant-event watch and the lease of local serving. */
  public record Watch(boolean enabled, Duration minBackoff, Duration maxBackoff, Duration lease) {}

  /** The optional cache of unwrapped DEKs. */
  public record Cache(Duration ttl, int maxEntries) {}

  /** Coalescing of concurrent decrypts into one UnwrapKeys. */
  public record Batching(int maxBatch, int maxInFlightPerTenant) {}

  /** The application-facing listener. */
  public record Grpc(
      String server,
      String host,
      int port,
      int maxConcurrentCallsPerConnection,
      int maxRequestSize,
      String executor,
      java.time.Duration drainTimeout) {

    public static Grpc from(Config grpc) {
      return new Grpc(
          grpc.getString("server"),
          grpc.getString("host"),
          grpc.getInt("port"),
          grpc.getInt("max-concurrent-calls-per-connection"),
          (int) Math.min(Integer.MAX_VALUE, grpc.getBytes("max-request-size")),
          grpc.getString("executor"),
          grpc.getDuration("drain-timeout"));
    }
  }

  private static String client(String name) {
    if (!name.equals("netty") && !name.equals("pekko")) {
      throw new IllegalArgumentException(
          "openkcm.gateway.core.client must be netty or pekko, was '" + name + "'");
    }
    return name;
  }

  /** Reads {@code openkcm.gateway}. */
  public static GatewaySettings from(Config c) {
    List<CoreLink.Endpoint> endpoints =
        c.getStringList("core.endpoints").isEmpty()
            ? List.of(new CoreLink.Endpoint(c.getString("core.host"), c.getInt("core.port")))
            : c.getStringList("core.endpoints").stream().map(CoreLink.Endpoint::parse).toList();
    List<CoreLink.Endpoint> keyEndpoints;
    if (!c.getStringList("core.key-endpoints").isEmpty()) {
      keyEndpoints =
          c.getStringList("core.key-endpoints").stream().map(CoreLink.Endpoint::parse).toList();
      if (keyEndpoints.size() != endpoints.size()) {
        throw new IllegalArgumentException(
            "openkcm.gateway.core.key-endpoints must name one key listener per Core endpoint ("
                + endpoints.size()
                + "), named "
                + keyEndpoints.size());
      }
    } else if (c.getInt("core.key-port") > 0) {
      keyEndpoints =
          List.of(new CoreLink.Endpoint(c.getString("core.host"), c.getInt("core.key-port")));
    } else {
      keyEndpoints = endpoints;
    }
    Watch watch =
        new Watch(
            c.getBoolean("watch.enabled"),
            c.getDuration("watch.min-backoff"),
            c.getDuration("watch.max-backoff"),
            c.getDuration("watch.lease"));
    return new GatewaySettings(
        c.getString("name"),
        new Core(
            endpoints,
            keyEndpoints,
            c.getDuration("core.request-timeout"),
            c.getBoolean("core.streaming"),
            client(c.getString("core.client"))),
        watch,
        c.getBoolean("cache.enabled")
            ? Optional.of(new Cache(c.getDuration("cache.ttl"), c.getInt("cache.max-entries")))
            : Optional.empty(),
        // pooled DEKs are only safe while the watch can flush them
        c.getBoolean("pool.enabled") && watch.enabled()
            ? Optional.of(
                new DekPool.Settings(
                    c.getInt("pool.min-target"),
                    c.getInt("pool.max-target"),
                    c.getInt("pool.max-pools"),
                    c.getInt("pool.max-pools-per-tenant"),
                    c.getInt("pool.remember-contexts")))
            : Optional.empty(),
        new Batching(c.getInt("batching.max-batch"), c.getInt("batching.max-in-flight-per-tenant")),
        c.getInt("default-key-length"),
        c.getInt("max-batch"),
        Grpc.from(c.getConfig("grpc")),
        c.getConfig("vault"));
  }
}
