package org.openkcm.core.tenant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.openkcm.core.keystore.DevFileKeystore;
import org.openkcm.core.keystore.L1Keystores;
import org.openkcm.core.keystore.RecordingKeystore;
import org.openkcm.core.tenant.KeyBatch.UnwrapItem;
import org.openkcm.core.tenant.KeyBatch.Unwrapped;
import org.openkcm.core.tenant.KeyBatch.WrapItem;
import org.openkcm.core.tenant.KeyBatch.Wrapped;
import org.openkcm.core.tenant.TenantEntity.Command;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * A live tenant actor whose L1 answer the test holds back: commands wait, in order, for the unseal.
 */
class TenantUnsealStashTest {

  private static final ActorTestKit testKit =
      ActorTestKit.create(
          PersistenceTestKitPlugin.getInstance()
              .config()
              .withFallback(ConfigFactory.parseResources("core/serialization.conf"))
              .withFallback(ConfigFactory.parseString("pekko.actor.provider = local")));
  private static final ExecutorService blocking = Executors.newCachedThreadPool();

  @AfterAll
  static void tearDown() {
    testKit.shutdownTestKit();
    blocking.shutdownNow();
  }

  @Test
  void commandsArrivingDuringUnsealAreStashedAndServedAfterOneL1Call() throws Exception {
    RecordingKeystore keystore =
        new RecordingKeystore(
            new L1Keystores(
                List.of(
                    new DevFileKeystore(
                        Files.createTempDirectory("openkcm-stash"), true, blocking))));
    TenantDependencies deps =
        new TenantDependencies(
            keystore, new SecureRandom(), Clock.systemUTC(), TenantSettings.forTests(1000));

    ActorRef<Command> first = testKit.spawn(TenantEntity.create("stash", deps));
    TestProbe<StatusReply<TenantSummary>> admin = testKit.createTestProbe();
    first.tell(new TenantEntity.Onboard("devfile:stash-root", "c", admin.getRef()));
    assertTrue(admin.receiveMessage().isSuccess());
    first.tell(new TenantEntity.CreateService("payments", "c", admin.getRef()));
    assertTrue(admin.receiveMessage().isSuccess());
    byte[] dek = new byte[32];
    new SecureRandom().nextBytes(dek);
    TestProbe<StatusReply<Wrapped>> wrapProbe = testKit.createTestProbe();
    first.tell(
        new TenantEntity.WrapKeys(
            "payments", List.of(new WrapItem(dek, Map.of())), "c", wrapProbe.getRef()));
    byte[] envelope = wrapProbe.receiveMessage().getValue().envelopes().get(0);
    testKit.stop(first);

    int before = keystore.unwrapCalls();
    CompletableFuture<Void> gate = keystore.closeGate();
    ActorRef<Command> second = testKit.spawn(TenantEntity.create("stash", deps));
    List<TestProbe<StatusReply<Unwrapped>>> probes = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      TestProbe<StatusReply<Unwrapped>> p = testKit.createTestProbe();
      probes.add(p);
      second.tell(
          new TenantEntity.UnwrapKeys(
              List.of(new UnwrapItem(envelope, Map.of())), "c" + i, p.getRef()));
    }
    probes
        .get(0)
        .awaitAssert(
            () -> {
              assertEquals(
                  before + 1,
                  keystore.unwrapCalls(),
                  "the first command started exactly one L1 call");
              return null;
            });
    probes.forEach(p -> p.expectNoMessage(Duration.ofMillis(200)));

    gate.complete(null);
    for (TestProbe<StatusReply<Unwrapped>> p : probes) {
      assertArrayEquals(dek, p.receiveMessage().getValue().outcomes().get(0).plaintext());
    }
    assertEquals(before + 1, keystore.unwrapCalls(), "stashed commands reused the unsealed keys");
  }

  @Test
  void periodicL1CheckNoticesARevocationWithinOneInterval() throws Exception {
    DevFileKeystore dev =
        new DevFileKeystore(Files.createTempDirectory("openkcm-check"), true, blocking);
    TenantDependencies deps =
        new TenantDependencies(
            new L1Keystores(List.of(dev)),
            new SecureRandom(),
            Clock.systemUTC(),
            new TenantSettings(
                1000, "crypto", Duration.ofMillis(200), Duration.ofMinutes(5), Duration.ZERO));
    ActorRef<Command> tenant = testKit.spawn(TenantEntity.create("checked", deps));
    TestProbe<StatusReply<TenantSummary>> probe = testKit.createTestProbe();
    tenant.tell(new TenantEntity.Onboard("devfile:checked-root", "c", probe.getRef()));
    assertTrue(probe.receiveMessage().getValue().unsealed());

    dev.setEnabled("checked-root", false);
    probe.awaitAssert(
        Duration.ofSeconds(10),
        () -> {
          tenant.tell(new TenantEntity.GetSummary(probe.getRef()));
          TenantSummary s = probe.receiveMessage().getValue();
          assertEquals(TenantStatus.L1_REVOKED, s.status());
          assertFalse(s.unsealed(), "keys wiped without anyone asking");
          return null;
        });
  }

  @Test
  void wipingUnsealedKeysZeroisesL2AndEveryL3() {
    KeyMaterial l2 = KeyMaterial.random(32, new SecureRandom());
    UnsealedKeys keys = new UnsealedKeys(l2, 1);
    org.openkcm.protocol.envelope.EnvelopeCipher l3 =
        new org.openkcm.protocol.envelope.EnvelopeCipher(
            new org.openkcm.protocol.envelope.EnvelopeHeader("acme", "payments", 1),
            KeyMaterial.random(32, new SecureRandom()));
    keys.install(l3);
    assertFalse(l2.bytesAreZero());
    assertFalse(l3.keyBytesAreZero());
    keys.wipe();
    assertTrue(l2.bytesAreZero(), "the L2 bytes themselves are zero");
    assertTrue(l3.keyBytesAreZero(), "the L3 bytes the cipher owned are zero");
    assertTrue(keys.cipher("payments", 1).isEmpty());
  }
}
