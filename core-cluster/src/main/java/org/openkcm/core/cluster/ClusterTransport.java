package org.openkcm.core.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.net.InetAddress;
import java.net.UnknownHostException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses the Core's cluster transport from {@code openkcm.tls.enabled}: with mTLS on (every profile but
 * test) Artery runs {@code tls-tcp} through {@link ArteryTls}; plaintext {@code tcp} only where the whole node
 * is plaintext, which is allowed only under the test profile with Artery bound to a loopback address.
 */
public final class ClusterTransport {

  private static final Logger log = LoggerFactory.getLogger(ClusterTransport.class);

  private ClusterTransport() {}

  /** {@code config} with {@code pekko.remote.artery.transport} set to match the node's TLS setting. */
  public static Config apply(Config config) {
    boolean tls = config.getBoolean("openkcm.tls.enabled");
    if (!tls) {
      String profile = config.getString("openkcm.profile");
      String host = config.getString("pekko.remote.artery.canonical.hostname");
      if (!profile.equals("test") || !isLoopback(host)) {
        throw new IllegalArgumentException("openkcm.tls.enabled = off is allowed only under the test profile with "
            + "pekko.remote.artery.canonical.hostname on loopback (profile " + profile + ", host " + host
            + "); turn TLS on (OPENKCM_TLS)");
      }
      log.warn("cluster transport in PLAINTEXT (test profile, loopback {}): no peer authentication", host);
    }
    return ConfigFactory.parseString("pekko.remote.artery.transport = " + (tls ? "tls-tcp" : "tcp"))
        .withFallback(config);
  }

  static boolean isLoopback(String host) {
    try {
      return InetAddress.getByName(host).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }
}
