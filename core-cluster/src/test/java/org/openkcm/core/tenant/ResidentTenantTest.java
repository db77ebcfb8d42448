package org.openkcm.core.tenant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.openkcm.core.keystore.DevFileKeystore;
import org.openkcm.core.keystore.L1Keystores;
import org.openkcm.core.killswitch.KillRecord;
import org.openkcm.core.killswitch.KillScope;
import org.openkcm.core.killswitch.KillSwitchView;
import org.openkcm.core.tenant.KeyBatch.UnwrapItem;
import org.openkcm.core.tenant.KeyBatch.Unwrapped;
import org.openkcm.core.tenant.KeyBatch.WrapItem;
import org.openkcm.core.tenant.KeyBatch.Wrapped;
import org.openkcm.core.tenant.TenantEntity.Command;
import org.openkcm.protocol.error.ErrorReason;

/**
 * The key listener wraps and unwraps with a tenant's {@link ResidentTenant} only while the entity
 * would answer the same: published after a wrap or an unwrap, withdrawn before anything else
 * reaches the entity (a kill, a rotation, a stop), bypassed under a kill-switch, and a kill's
 * answer comes only after every direct unwrap in progress has finished.
 */
class ResidentTenantTest {

  private static final ActorTestKit testKit =
      ActorTestKit.create(
          PersistenceTestKitPlugin.getInstance()
              .config()
              .withFallback(ConfigFactory.parseResources("core/serialization.conf"))
              .withFallback(ConfigFactory.parseString("pekko.actor.provider = local")));
  private static final ExecutorService threads = Executors.newCachedThreadPool();
  private static final ResidentTenants residents = ResidentTenants.get(testKit.system());

  @AfterAll
  static void tearDown() {
    testKit.shutdownTestKit();
    threads.shutdownNow();
  }

  /** A serving tenant with one service and one envelope of a known DEK. */
  private record Serving(String id, ActorRef<Command> ref, byte[] dek, byte[] envelope) {}

  private static Serving serving(String tenant, TenantSettings settings, KillSwitchView killSwitch)
      throws Exception {
    TenantDependencies deps =
        new TenantDependencies(
            new L1Keystores(
                List.of(
                    new DevFileKeystore(
                        Files.createTempDirectory("openkcm-resident"), true, threads))),
            new SecureRandom(),
            Clock.systemUTC(),
            settings,
            killSwitch);
    ActorRef<Command> ref = testKit.spawn(TenantEntity.create(tenant, deps));
    TestProbe<StatusReply<TenantSummary>> admin = testKit.createTestProbe();
    ref.tell(new TenantEntity.Onboard("devfile:" + tenant + "-root", "c", admin.getRef()));
    assertTrue(admin.receiveMessage().isSuccess());
    ref.tell(new TenantEntity.CreateService("payments", "c", admin.getRef()));
    assertTrue(admin.receiveMessage().isSuccess());
    assertFalse(residents.isResident(tenant), "nothing published before a wrap or an unwrap");
    byte[] dek = new byte[32];
    new SecureRandom().nextBytes(dek);
    TestProbe<StatusReply<Wrapped>> wrap = testKit.createTestProbe();
    ref.tell(
        new TenantEntity.WrapKeys(
            "payments", List.of(new WrapItem(dek, Map.of("row", "1"))), "c", wrap.getRef()));
    return new Serving(tenant, ref, dek, wrap.receiveMessage().getValue().envelopes().get(0));
  }

  private static Serving serving(String tenant) throws Exception {
    return serving(tenant, TenantSettings.forTests(100), KillSwitchView.NONE);
  }

  private static List<UnwrapItem> items(Serving t) {
    return List.of(new UnwrapItem(t.envelope(), Map.of("row", "1")));
  }

  /** The entity's own answer to unwrapping the tenant's envelope. */
  private static StatusReply<Unwrapped> askEntity(Serving t) {
    TestProbe<StatusReply<Unwrapped>> p = testKit.createTestProbe();
    t.ref().tell(new TenantEntity.UnwrapKeys(items(t), "u", p.getRef()));
    return p.receiveMessage();
  }

  private static TenantSummary command(
      Serving t, java.util.function.Function<ActorRef<StatusReply<TenantSummary>>, Command> c) {
    TestProbe<StatusReply<TenantSummary>> p = testKit.createTestProbe();
    t.ref().tell(c.apply(p.getRef()));
    return p.receiveMessage().getValue();
  }

  @Test
  void afterTheEntityAnswersAnUnwrapTheListenerAnswersTheSameWithoutIt() throws Exception {
    Serving t = serving("resident-same");
    assertTrue(residents.isResident(t.id()), "published once its entity answered the wrap");
    Unwrapped byEntity = askEntity(t).getValue();
    Unwrapped direct = residents.unwrap(t.id(), items(t)).orElseThrow();
    assertArrayEquals(t.dek(), direct.outcomes().get(0).plaintext());
    assertArrayEquals(byEntity.outcomes().get(0).plaintext(), direct.outcomes().get(0).plaintext());
    assertEquals(byEntity.sequence(), direct.sequence());

    // the same refusals as the entity, item by item
    List<UnwrapItem> wrongContext = List.of(new UnwrapItem(t.envelope(), Map.of("row", "2")));
    assertEquals(
        ErrorReason.ENVELOPE_AUTHENTICATION_FAILED.name(),
        residents.unwrap(t.id(), wrongContext).orElseThrow().outcomes().get(0).errorReason());
    Serving other = serving("resident-other");
    assertEquals(
        ErrorReason.ENVELOPE_TENANT_MISMATCH.name(),
        residents.unwrap(t.id(), items(other)).orElseThrow().outcomes().get(0).errorReason(),
        "another tenant's envelope");
    assertTrue(residents.unwrap(t.id(), List.of()).isEmpty(), "an empty batch: the entity says");
  }

  @Test
  void anyOtherCommandWithdrawsTheViewUntilTheNextUnwrap() throws Exception {
    Serving t = serving("resident-rotate");
    askEntity(t);
    assertTrue(residents.isResident(t.id()));
    TenantSummary rotated =
        command(t, r -> new LifecycleProtocol.RotateService("payments", "alice", "c", r));
    assertFalse(residents.isResident(t.id()), "withdrawn by the rotation");
    assertTrue(residents.unwrap(t.id(), items(t)).isEmpty());
    assertTrue(rotated.unsealed());

    askEntity(t);
    assertTrue(residents.isResident(t.id()), "published again, with the rotated state");
    assertArrayEquals(
        t.dek(), residents.unwrap(t.id(), items(t)).orElseThrow().outcomes().get(0).plaintext());

    testKit.stop(t.ref());
    assertFalse(residents.isResident(t.id()), "a stopped entity leaves nothing behind");
  }

  @Test
  void aKilledTenantIsNeverUnwrappedDirectlyAndTheKillWaitsForUnwrapsInProgress() throws Exception {
    Serving t = serving("resident-kill");
    askEntity(t);
    AtomicBoolean stop = new AtomicBoolean();
    AtomicReference<Long> lastSuccessEnded = new AtomicReference<>(0L);
    List<Future<Integer>> readers = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      readers.add(
          threads.submit(
              () -> {
                int served = 0;
                for (int n = 0; n < 5_000_000 && !stop.get(); n++) {
                  Optional<Unwrapped> u = residents.unwrap(t.id(), items(t));
                  if (u.isPresent()) {
                    long ended = System.nanoTime();
                    lastSuccessEnded.accumulateAndGet(ended, Math::max);
                    served++;
                  }
                }
                return served;
              }));
    }
    TestProbe<StatusReply<TenantSummary>> officer = testKit.createTestProbe();
    officer.awaitAssert(
        () -> {
          assertTrue(lastSuccessEnded.get() > 0, "readers are unwrapping");
          return null;
        });
    t.ref().tell(new TenantEntity.Kill("breach", "alice", "k", officer.getRef()));
    assertEquals(TenantStatus.KILLED, officer.receiveMessage().getValue().status());
    long killAnswered = System.nanoTime();
    long lastBeforeKill = lastSuccessEnded.get();
    stop.set(true);
    int served = 0;
    for (Future<Integer> r : readers) {
      served += r.get();
    }
    assertTrue(served > 0);
    assertTrue(
        lastBeforeKill < killAnswered, "every direct unwrap ended before the kill was answered");
    assertEquals(
        lastBeforeKill, lastSuccessEnded.get(), "no direct unwrap succeeded after the kill");
    assertTrue(residents.unwrap(t.id(), items(t)).isEmpty());
    assertTrue(askEntity(t).isError(), "the entity refuses: TENANT_KILLED");
  }

  @Test
  void underAKillSwitchTheListenerAsksTheEntityWhichRefuses() throws Exception {
    AtomicReference<Optional<KillRecord>> engaged = new AtomicReference<>(Optional.empty());
    Serving t = serving("resident-switch", TenantSettings.forTests(100), engaged::get);
    askEntity(t);
    assertTrue(residents.unwrap(t.id(), items(t)).isPresent());
    engaged.set(Optional.of(new KillRecord(KillScope.GLOBAL, "drill", "ops", Instant.now())));
    assertTrue(
        residents.unwrap(t.id(), items(t)).isEmpty(),
        "no command reached the entity, yet nothing is unwrapped directly");
    assertEquals(
        ErrorReason.TENANT_KILLED,
        org.openkcm.core.reply.Rejections.parse(askEntity(t).getError()).reason());
  }

  @Test
  void directWrapsSpendOnlyTheReservedNonceBudgetAndTheEntityCountsThem() throws Exception {
    // 4 wraps reserved at a time, rotation after 10
    KeyLifecycle life =
        new KeyLifecycle(100, 10, 4, java.time.Duration.ofDays(90), java.time.Duration.ofDays(365));
    Serving t =
        serving(
            "resident-wrap",
            TenantSettings.forTests(100).withLifecycle(life),
            KillSwitchView.NONE); // its entity made wrap 1 of the 4 reserved
    List<WrapItem> one = List.of(new WrapItem(t.dek(), Map.of("row", "1")));
    List<Long> versions = new ArrayList<>();
    int direct = 0;
    for (int wrap = 2; wrap <= 11; wrap++) {
      Optional<Wrapped> w = residents.wrap(t.id(), "payments", one);
      if (w.isEmpty()) {
        TestProbe<StatusReply<Wrapped>> p = testKit.createTestProbe();
        t.ref().tell(new TenantEntity.WrapKeys("payments", one, "c", p.getRef()));
        w = Optional.of(p.receiveMessage().getValue());
      } else {
        direct++;
      }
      versions.add(w.get().l3Version());
      Serving again = new Serving(t.id(), t.ref(), t.dek(), w.get().envelopes().get(0));
      assertArrayEquals(
          t.dek(), askEntity(again).getValue().outcomes().get(0).plaintext(), "wrap " + wrap);
    }
    // wraps 2-4 direct (reserved 4), 5 by the entity (reserves up to 9), 6-9 direct, 10 by the
    // entity (10 is the rotation point: nothing left to spend directly), 11 rotates to version 2
    assertEquals(7, direct);
    assertEquals(List.of(1L, 1L, 1L, 1L, 1L, 1L, 1L, 1L, 1L, 2L), versions);
    assertTrue(residents.wrap(t.id(), "audit", one).isEmpty(), "an unknown service: the entity");
  }

  @Test
  void switchedOffNothingIsEverPublished() throws Exception {
    TenantSettings base = TenantSettings.forTests(100);
    TenantSettings off =
        new TenantSettings(
            base.maxBatchSize(),
            base.shardRole(),
            base.l1CheckInterval(),
            base.l1UnavailableGrace(),
            base.unsealRetryBackoff(),
            base.l1CallTimeout(),
            base.maxWaitingCommands(),
            base.lifecycle(),
            false);
    Serving t = serving("resident-off", off, KillSwitchView.NONE);
    assertArrayEquals(t.dek(), askEntity(t).getValue().outcomes().get(0).plaintext());
    assertFalse(residents.isResident(t.id()));
  }
}
