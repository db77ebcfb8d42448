package org.openkcm.core;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.junit.jupiter.api.Test;
import org.openkcm.core.tenant.TenantEntity;
import org.openkcm.core.tenant.TenantSummary;
import org.openkcm.node.config.NodeConfig;

/**
 * A real one-node Core (H2 journal in a temp dir): an idle tenant is passivated and its keys wiped.
 */
class PassivationTest {

  @Test
  void idleTenantIsPassivatedAndItsKeysAreWiped() throws Exception {
    Path dir = Files.createTempDirectory("openkcm-passivation");
    try (CoreNode node =
        CoreNode.start(
            NodeConfig.load(
                "core",
                "test",
                ConfigFactory.parseMap(
                    Map.of(
                        "openkcm.data-dir",
                        dir.toString(),
                        "pekko.cluster.sharding.passivation.default-idle-strategy.idle-entity.timeout",
                        "1s"))))) {
      EntityRef<TenantEntity.Command> acme =
          ClusterSharding.get(node.system()).entityRefFor(TenantEntity.ENTITY_KEY, "acme");
      Duration timeout = Duration.ofSeconds(10);
      TenantSummary onboarded =
          acme.<TenantSummary>askWithStatus(
                  r -> new TenantEntity.Onboard("devfile:acme-root", "c", r), timeout)
              .toCompletableFuture()
              .get();
      assertTrue(onboarded.unsealed());

      TestProbe<Object> probe = TestProbe.create(node.system());
      // poll more slowly than the idle timeout, so that the polls themselves do not keep the tenant
      // alive
      probe.awaitAssert(
          Duration.ofSeconds(20),
          Duration.ofMillis(1500),
          () -> {
            TenantSummary s =
                acme.<TenantSummary>askWithStatus(TenantEntity.GetSummary::new, timeout)
                    .toCompletableFuture()
                    .join();
            assertFalse(s.unsealed(), "passivated: the keys are no longer in memory");
            return null;
          });
    }
  }
}
