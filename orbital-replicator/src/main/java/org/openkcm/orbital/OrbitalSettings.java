package org.openkcm.orbital;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.List;

/**
 * {@code openkcm.orbital}: this region's name and endpoint, and its peers.
 *
 * @param peers the other regions, each shipped every tenant event written here
 */
public record OrbitalSettings(
    boolean enabled,
    String region,
    String host,
    int port,
    List<Peer> peers,
    Duration callTimeout,
    Duration minBackoff,
    Duration maxBackoff,
    Duration heartbeatInterval) {

  /** Another region's Orbital endpoint. */
  public record Peer(String name, String host, int port) {}

  public static OrbitalSettings from(Config root) {
    Config c = root.getConfig("openkcm.orbital");
    List<Peer> peers =
        c.getConfigList("peers").stream()
            .map(p -> new Peer(p.getString("name"), p.getString("host"), p.getInt("port")))
            .toList();
    String region = c.getString("region");
    for (Peer p : peers) {
      if (p.name().equals(region)) {
        throw new IllegalArgumentException(
            "openkcm.orbital.peers names this region (" + region + ") as its own peer");
      }
    }
    return new OrbitalSettings(
        c.getBoolean("enabled"),
        region,
        c.getString("host"),
        c.getInt("port"),
        peers,
        c.getDuration("call-timeout"),
        c.getDuration("min-backoff"),
        c.getDuration("max-backoff"),
        c.getDuration("heartbeat-interval"));
  }
}
