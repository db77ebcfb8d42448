package org.openkcm.node.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.Map;
import java.util.Set;

/**
 * Loads a node's configuration from the HOCON under {@code config/}: JVM system properties,
 * overrides, then the profile, then the node kind's root file, then the libraries' {@code
 * reference.conf}.
 */
public final class NodeConfig {

  public static final Set<String> PROFILES = Set.of("demo", "dev", "prod", "test");

  private NodeConfig() {}

  /**
   * @param kind "core" or "gateway"
   * @param profile one of {@link #PROFILES}
   * @param overrides strongest settings (e.g. a data directory given on the command line)
   */
  public static Config load(String kind, String profile, Config overrides) {
    if (!PROFILES.contains(profile)) {
      throw new IllegalArgumentException("unknown profile '" + profile + "'; one of " + PROFILES);
    }
    Config root = ConfigFactory.parseResourcesAnySyntax(kind + "/" + kind + ".conf");
    if (root.isEmpty()) {
      throw new IllegalStateException("no " + kind + "/" + kind + ".conf on the classpath");
    }
    return ConfigFactory.defaultOverrides()
        .withFallback(overrides)
        .withFallback(ConfigFactory.parseResourcesAnySyntax("profiles/" + profile + ".conf"))
        .withFallback(root)
        .withFallback(ConfigFactory.defaultReference())
        .resolve();
  }

  public static Config load(String kind, String profile, Map<String, ?> overrides) {
    return load(kind, profile, ConfigFactory.parseMap(overrides));
  }
}
