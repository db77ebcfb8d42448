package org.openkcm.node.config;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.node.tls.DevCa;

/** What each profile refuses to start with, one line per problem naming the setting. */
class ProfileGuardTest {

  @TempDir Path dir;

  private Config config(String profile, Map<String, Object> settings) {
    return ConfigFactory.parseMap(settings)
        .withFallback(
            ConfigFactory.parseMap(
                Map.ofEntries(
                    Map.entry("openkcm.profile", profile),
                    Map.entry("openkcm.tls.enabled", true),
                    Map.entry("openkcm.tls.dev-ca", false),
                    Map.entry(
                        "openkcm.tls.trust-bundle-file", dir.resolve("bundle.crt").toString()),
                    Map.entry(
                        "openkcm.authz.policy-files", List.of("classpath:policies/default.cedar")),
                    Map.entry("openkcm.authz.assignments.gateways.gw-eu", List.of("acme")),
                    Map.entry(
                        "openkcm.authz.assignments.admins.alice", List.of("security-officer")),
                    Map.entry("openkcm.core.keystore.devfile.enabled", false),
                    Map.entry("openkcm.core.seal.mode", "shamir"),
                    Map.entry("openkcm.core.seal.auto.l1-reference", "devfile:openkcm-master"),
                    Map.entry("openkcm.core.grpc.host", "127.0.0.1"),
                    Map.entry("openkcm.gateway.grpc.host", "127.0.0.1"),
                    Map.entry("pekko.remote.artery.canonical.hostname", "127.0.0.1"))));
  }

  @Test
  void aProductionConfigurationStarts() {
    assertDoesNotThrow(() -> ProfileGuard.check(config("prod", Map.of()), "core"));
    assertDoesNotThrow(() -> ProfileGuard.check(config("prod", Map.of()), "gateway"));
  }

  @Test
  void prodRefusesEveryPieceOfTheDemoNamingItsSetting() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                ProfileGuard.check(
                    config(
                        "prod",
                        Map.of(
                            "openkcm.tls.dev-ca",
                            true,
                            "openkcm.core.keystore.devfile.enabled",
                            true,
                            "openkcm.core.seal.mode",
                            "auto",
                            "openkcm.authz.assignments.gateways.gateway",
                            List.of("*"))),
                    "core"));
    String m = e.getMessage();
    for (String setting :
        List.of(
            "openkcm.tls.dev-ca",
            "openkcm.core.keystore.devfile.enabled",
            "openkcm.core.seal.auto.l1-reference",
            "openkcm.authz.assignments.gateways.gateway")) {
      assertTrue(m.contains(setting), setting + " named in: " + m);
    }
    assertEquals(5, m.split("\n").length, "one line each: " + m);
  }

  @Test
  void prodRefusesATrustBundleOfTheDevelopmentCa() {
    DevCa.loadOrCreate(dir.resolve("pki"), "openkcm.local");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                ProfileGuard.check(
                    config(
                        "prod",
                        Map.of(
                            "openkcm.tls.trust-bundle-file",
                            dir.resolve("pki").resolve(DevCa.CA_CERT).toString())),
                    "gateway"));
    assertTrue(
        e.getMessage().contains("openkcm.tls.trust-bundle-file trusts the OpenKCM DEVELOPMENT CA"),
        e.getMessage());
  }

  @Test
  void plaintextOnlyUnderTheTestProfileOnLoopback() {
    for (String profile : List.of("demo", "dev", "prod")) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  ProfileGuard.check(
                      config(profile, Map.of("openkcm.tls.enabled", false)), "gateway"));
      assertTrue(
          e.getMessage()
              .contains("openkcm.tls.enabled = off is allowed only under the test profile"),
          e.getMessage());
    }
    assertDoesNotThrow(
        () -> ProfileGuard.check(config("test", Map.of("openkcm.tls.enabled", false)), "core"));
    IllegalArgumentException wide =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                ProfileGuard.check(
                    config(
                        "test",
                        Map.of(
                            "openkcm.tls.enabled",
                            false,
                            "pekko.remote.artery.canonical.hostname",
                            "0.0.0.0")),
                    "core"));
    assertTrue(
        wide.getMessage().contains("pekko.remote.artery.canonical.hostname on loopback"),
        wide.getMessage());
  }
}
