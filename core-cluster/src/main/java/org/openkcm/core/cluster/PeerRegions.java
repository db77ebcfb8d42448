package org.openkcm.core.cluster;

import com.typesafe.config.Config;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.openkcm.node.tls.SpiffeId;

/**
 * The other regions this Core cluster knows ({@code openkcm.orbital.peers}) and the identity each
 * one's Cores present: {@code identity}, by default {@code spiffe://<trust-domain>/core/<name>}. A
 * caller speaking for a region must carry that id or one below it.
 */
public final class PeerRegions {

  /** No peer region (one region, or Orbital off). */
  public static final PeerRegions NONE = new PeerRegions(Map.of());

  private final Map<String, SpiffeId> identities;

  private PeerRegions(Map<String, SpiffeId> identities) {
    this.identities = Map.copyOf(identities);
  }

  /** The peers of {@code root} ({@code openkcm.orbital.peers}; none when absent). */
  public static PeerRegions from(Config root) {
    if (!root.hasPath("openkcm.orbital.peers")) {
      return NONE;
    }
    String trustDomain = root.getString("openkcm.tls.trust-domain");
    Map<String, SpiffeId> found = new LinkedHashMap<>();
    for (Config peer : root.getConfigList("openkcm.orbital.peers")) {
      found.put(peer.getString("name"), identity(peer, trustDomain));
    }
    return new PeerRegions(found);
  }

  /** The identity (or prefix) of the Cores of region {@code name}. */
  public Optional<SpiffeId> identity(String name) {
    return Optional.ofNullable(identities.get(name));
  }

  /** The peer region {@code caller} is a Core of, if any. */
  public Optional<String> regionOf(SpiffeId caller) {
    return identities.entrySet().stream()
        .filter(e -> caller.isWithin(e.getValue()))
        .map(Map.Entry::getKey)
        .findFirst();
  }

  /** A peer's {@code identity}, checked: a {@code core/} id naming the region. */
  public static SpiffeId identity(Config peer, String trustDomain) {
    String name = peer.getString("name");
    String uri =
        peer.hasPath("identity")
            ? peer.getString("identity")
            : "spiffe://" + trustDomain + "/core/" + name;
    SpiffeId id;
    try {
      id = SpiffeId.parse(uri);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "openkcm.orbital.peers: identity of " + name + " (" + uri + "): " + e.getMessage());
    }
    if (!id.kind().equals("core") || id.segments().size() < 2) {
      throw new IllegalArgumentException(
          "openkcm.orbital.peers: identity of "
              + name
              + " must be a core/ identity naming the region (spiffe://<domain>/core/<region>), was "
              + uri);
    }
    return id;
  }
}
