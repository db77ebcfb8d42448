package org.openkcm.orbital;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.List;
import org.openkcm.node.tls.SpiffeId;

/**
 * {@code openkcm.orbital}: this region's name and endpoint, and its peers.
 *
 * @param peers the other regions, each shipped every tenant event written here
 * @param maxSequenceJump how far past the last event applied from an origin (per tenant) the next
 *     one's sequence number may be
 * @param purgeInterval how often the events before destroying events every peer has are deleted
 * @param replayPage how many journal rows one reply to a peer's catch-up reads at most
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
    Duration heartbeatInterval,
    long maxSequenceJump,
    Duration purgeInterval,
    int replayPage) {

  /**
   * Another region's Orbital endpoint, and the identity its Cores present: a caller claiming to be
   * this region must carry {@code identity} or an id below it.
   */
  public record Peer(String name, String host, int port, SpiffeId identity) {}

  public static OrbitalSettings from(Config root) {
    Config c = root.getConfig("openkcm.orbital");
    List<Peer> peers =
        c.getConfigList("peers").stream()
            .map(
                p ->
                    new Peer(
                        p.getString("name"),
                        p.getString("host"),
                        p.getInt("port"),
                        org.openkcm.core.cluster.PeerRegions.identity(
                            p, root.getString("openkcm.tls.trust-domain"))))
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
        c.getDuration("heartbeat-interval"),
        c.getLong("max-sequence-jump"),
        c.getDuration("purge-interval"),
        c.getInt("replay-page"));
  }
}
