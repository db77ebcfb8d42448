package org.openkcm.core.tenant;

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
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
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
import org.openkcm.protocol.error.ErrorReason;

/**
 * A kill never waits and is never lost: not behind an L1 call to a keystore that hangs, not behind
 * the commands waiting for it, not when the journal refuses it. A hung keystore answers
 * L1_UNAVAILABLE after the call timeout, and the queue of waiting commands is bounded.
 */
class TenantKillNeverWaitsTest {

  private static final ActorTestKit testKit =
      ActorTestKit.create(
          PersistenceTestKitPlugin.getInstance()
              .config()
              .withFallback(ConfigFactory.parseResources("core/serialization.conf"))
              .withFallback(ConfigFactory.parseString("pekko.actor.provider = local")));
  private static final PersistenceTestKit journal = PersistenceTestKit.create(testKit.system());
  private static final ExecutorService blocking = Executors.newCachedThreadPool();
  private static final Duration PROMPTLY = Duration.ofSeconds(3);

  @AfterAll
  static void tearDown() {
    testKit.shutdownTestKit();
    blocking.shutdownNow();
  }

  /**
   * A tenant onboarded with one service, restarted so that its next command must unseal through L1.
   */
  private record Sealed(
      ActorRef<Command> ref,
      RecordingKeystore keystore,
      TenantDependencies deps,
      byte[] envelope) {}

  private static Sealed onboardedAndRestarted(String tenant, TenantSettings settings)
      throws Exception {
    RecordingKeystore keystore =
        new RecordingKeystore(
            new L1Keystores(
                List.of(
                    new DevFileKeystore(
                        Files.createTempDirectory("openkcm-kill"), true, blocking))));
    TenantDependencies deps =
        new TenantDependencies(keystore, new SecureRandom(), Clock.systemUTC(), settings);
    ActorRef<Command> first = testKit.spawn(TenantEntity.create(tenant, deps));
    TestProbe<StatusReply<TenantSummary>> admin = testKit.createTestProbe();
    first.tell(new TenantEntity.Onboard("devfile:" + tenant + "-root", "c", admin.getRef()));
    assertTrue(admin.receiveMessage().isSuccess());
    first.tell(new TenantEntity.CreateService("payments", "c", admin.getRef()));
    assertTrue(admin.receiveMessage().isSuccess());
    TestProbe<StatusReply<Wrapped>> wrap = testKit.createTestProbe();
    first.tell(
        new TenantEntity.WrapKeys(
            "payments", List.of(new WrapItem(new byte[32], Map.of())), "c", wrap.getRef()));
    byte[] envelope = wrap.receiveMessage().getValue().envelopes().get(0);
    testKit.stop(first);
    return new Sealed(testKit.spawn(TenantEntity.create(tenant, deps)), keystore, deps, envelope);
  }

  private static TestProbe<StatusReply<Unwrapped>> unwrap(Sealed t) {
    TestProbe<StatusReply<Unwrapped>> p = testKit.createTestProbe();
    t.ref()
        .tell(
            new TenantEntity.UnwrapKeys(
                List.of(new UnwrapItem(t.envelope(), Map.of())), "u", p.getRef()));
    return p;
  }

  private static ErrorReason reasonOf(StatusReply<?> reply) {
    assertTrue(reply.isError(), "expected a refusal");
    return org.openkcm.core.reply.Rejections.parse(reply.getError()).reason();
  }

  @Test
  void aKillIsAnsweredAtOnceWhileTheKeystoreHangsAndTheWaitingCommandsAreRefused()
      throws Exception {
    Sealed t =
        onboardedAndRestarted(
            "hang-kill",
            TenantSettings.forTests(100).withL1CallTimeout(Duration.ofMinutes(5), 100));
    CompletableFuture<Void> hang = t.keystore().closeGate();
    int before = t.keystore().unwrapCalls();
    List<TestProbe<StatusReply<Unwrapped>>> waiting = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      waiting.add(unwrap(t));
    }
    waiting
        .get(0)
        .awaitAssert(
            () -> {
              assertEquals(
                  before + 1,
                  t.keystore().unwrapCalls(),
                  "the unseal's L1 call is in flight (and hangs)");
              return null;
            });
    TestProbe<StatusReply<TenantSummary>> officer = testKit.createTestProbe();
    t.ref().tell(new TenantEntity.Kill("breach", "alice", "k", officer.getRef()));
    TenantSummary killed = officer.receiveMessage(PROMPTLY).getValue();
    assertEquals(TenantStatus.KILLED, killed.status());
    assertFalse(killed.unsealed());
    for (TestProbe<StatusReply<Unwrapped>> p : waiting) {
      assertEquals(
          ErrorReason.TENANT_KILLED,
          reasonOf(p.receiveMessage(PROMPTLY)),
          "answered without the keystore");
    }
    hang.complete(null); // the keystore answers late: its L2 is discarded, the tenant stays killed
    TestProbe<StatusReply<TenantSummary>> after = testKit.createTestProbe();
    after.awaitAssert(
        () -> {
          t.ref().tell(new TenantEntity.GetSummary(after.getRef()));
          TenantSummary s = after.receiveMessage().getValue();
          assertEquals(TenantStatus.KILLED, s.status());
          assertFalse(s.unsealed(), "keys from the late answer were not kept");
          return null;
        });
    assertEquals(ErrorReason.TENANT_KILLED, reasonOf(unwrap(t).receiveMessage(PROMPTLY)));
  }

  @Test
  void aKeystoreThatHangsAnswersL1UnavailableAfterTheCallTimeout() throws Exception {
    Sealed t =
        onboardedAndRestarted(
            "hang-timeout",
            TenantSettings.forTests(100).withL1CallTimeout(Duration.ofMillis(300), 100));
    t.keystore().closeGate();
    StatusReply<Unwrapped> reply = unwrap(t).receiveMessage(PROMPTLY);
    assertEquals(ErrorReason.L1_UNAVAILABLE, reasonOf(reply));
    assertTrue(
        reply.getError().getMessage().contains("openkcm.core.tenant.l1-call-timeout"),
        reply.getError().getMessage());
  }

  @Test
  void commandsPastTheWaitingBoundAreRefusedAtOnce() throws Exception {
    Sealed t =
        onboardedAndRestarted(
            "hang-bound", TenantSettings.forTests(100).withL1CallTimeout(Duration.ofMinutes(5), 2));
    CompletableFuture<Void> hang = t.keystore().closeGate();
    List<TestProbe<StatusReply<Unwrapped>>> probes = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      probes.add(unwrap(t));
    }
    for (int i = 2; i < 5; i++) {
      StatusReply<Unwrapped> refused = probes.get(i).receiveMessage(PROMPTLY);
      assertEquals(ErrorReason.CORE_UNAVAILABLE, reasonOf(refused));
      assertTrue(
          refused.getError().getMessage().contains("max-waiting-commands"),
          refused.getError().getMessage());
    }
    hang.complete(null);
    for (int i = 0; i < 2; i++) {
      assertTrue(
          probes.get(i).receiveMessage(PROMPTLY).isSuccess(),
          "the first two were served after the unseal");
    }
  }

  @Test
  void aKillTheJournalRefusesKeepsTheTenantBlockedAnswersAnErrorAndIsWrittenAgain()
      throws Exception {
    Sealed t = onboardedAndRestarted("journal-down", TenantSettings.forTests(100));
    assertTrue(unwrap(t).receiveMessage(PROMPTLY).isSuccess(), "serving before the kill");
    journal.failNextPersisted("Tenant|journal-down");
    TestProbe<StatusReply<TenantSummary>> officer = testKit.createTestProbe();
    t.ref().tell(new TenantEntity.Kill("breach", "alice", "k1", officer.getRef()));
    StatusReply<TenantSummary> answer = officer.receiveMessage(PROMPTLY);
    assertEquals(ErrorReason.CORE_UNAVAILABLE, reasonOf(answer), "a definite error, not silence");
    assertTrue(
        answer.getError().getMessage().contains("could not be persisted"),
        answer.getError().getMessage());

    // the entity stopped on the journal failure; its next incarnation on this node is still
    // blocked, at once
    // (with the keystore hanging, only the pending kill can answer) ...
    CompletableFuture<Void> hang = t.keystore().closeGate();
    ActorRef<Command> again = testKit.spawn(TenantEntity.create("journal-down", t.deps()));
    TestProbe<StatusReply<Unwrapped>> p = testKit.createTestProbe();
    again.tell(
        new TenantEntity.UnwrapKeys(
            List.of(new UnwrapItem(t.envelope(), Map.of())), "u", p.getRef()));
    assertEquals(ErrorReason.TENANT_KILLED, reasonOf(p.receiveMessage(PROMPTLY)));
    // ... and writes the kill again, so even a node that never saw it (fresh PendingKills) finds it
    // killed
    p.awaitAssert(
        () -> {
          assertEquals(0, t.deps().pendingKills().size(), "the kill reached the journal");
          return null;
        });
    hang.complete(null);
    testKit.stop(again);
    TenantDependencies otherNode =
        new TenantDependencies(
            t.keystore(), new SecureRandom(), Clock.systemUTC(), TenantSettings.forTests(100));
    ActorRef<Command> elsewhere = testKit.spawn(TenantEntity.create("journal-down", otherNode));
    TestProbe<StatusReply<TenantSummary>> look = testKit.createTestProbe();
    elsewhere.tell(new TenantEntity.GetSummary(look.getRef()));
    TenantSummary s = look.receiveMessage(PROMPTLY).getValue();
    assertEquals(TenantStatus.KILLED, s.status());
    assertEquals("alice", s.killed().orElseThrow().by());
  }

  @Test
  void aKillOvertakingARevivesL1CallWins() throws Exception {
    Sealed t =
        onboardedAndRestarted(
            "revive-race",
            TenantSettings.forTests(100).withL1CallTimeout(Duration.ofMinutes(5), 100));
    TestProbe<StatusReply<TenantSummary>> officer = testKit.createTestProbe();
    t.ref().tell(new TenantEntity.Kill("first", "alice", "k1", officer.getRef()));
    assertEquals(TenantStatus.KILLED, officer.receiveMessage(PROMPTLY).getValue().status());
    CompletableFuture<Void> hang = t.keystore().closeGate();
    TestProbe<StatusReply<TenantSummary>> reviver = testKit.createTestProbe();
    t.ref().tell(new TenantEntity.Revive("bob", "r", reviver.getRef()));
    t.ref().tell(new TenantEntity.Kill("second", "alice", "k2", officer.getRef()));
    assertTrue(officer.receiveMessage(PROMPTLY).isSuccess());
    hang.complete(null);
    StatusReply<TenantSummary> revived = reviver.receiveMessage(PROMPTLY);
    assertEquals(ErrorReason.TENANT_KILLED, reasonOf(revived));
    assertTrue(
        revived.getError().getMessage().contains("killed again"), revived.getError().getMessage());
    assertEquals(ErrorReason.TENANT_KILLED, reasonOf(unwrap(t).receiveMessage(PROMPTLY)));
  }
}
