package org.openkcm.core.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses the Core's cluster transport from {@code openkcm.tls.enabled}: with mTLS on (every
 * profile but test) Artery runs {@code tls-tcp} through {@link ArteryTls}; plaintext {@code tcp}
 * only where the whole node is plaintext, which is allowed only under the test profile with Artery
 * bound to a loopback address.
 */
public final class ClusterTransport {

  private static final Logger log = LoggerFactory.getLogger(ClusterTransport.class);

  private ClusterTransport() {}

  /**
   * {@code config} with {@code pekko.remote.artery.transport} set to match the node's TLS setting
   * (whether plaintext is allowed at all is {@code ProfileGuard}'s call, made before).
   */
  public static Config apply(Config config) {
    boolean tls = config.getBoolean("openkcm.tls.enabled");
    if (!tls) {
      log.warn(
          "cluster transport in PLAINTEXT (test profile, loopback {}): no peer authentication",
          config.getString("pekko.remote.artery.canonical.hostname"));
    }
    return ConfigFactory.parseString("pekko.remote.artery.transport = " + (tls ? "tls-tcp" : "tcp"))
        .withFallback(config);
  }
}
