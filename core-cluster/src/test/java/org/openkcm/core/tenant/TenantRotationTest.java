package org.openkcm.core.tenant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Function;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.openkcm.core.keystore.DevFileKeystore;
import org.openkcm.core.keystore.L1Keystores;
import org.openkcm.core.keystore.RecordingKeystore;
import org.openkcm.core.killswitch.KillSwitchView;
import org.openkcm.core.seal.MasterKey;
import org.openkcm.core.tenant.KeyBatch.UnwrapItem;
import org.openkcm.core.tenant.KeyBatch.UnwrapOutcome;
import org.openkcm.core.tenant.KeyBatch.Unwrapped;
import org.openkcm.core.tenant.KeyBatch.WrapItem;
import org.openkcm.core.tenant.KeyBatch.Wrapped;
import org.openkcm.core.tenant.TenantEntity.Command;
import org.openkcm.core.tenant.TenantEntity.Event;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.event.TenantEventKind;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * Key versions over time, on the persistence testkit and a real dev keystore: manual L3 and L2
 * rotation, the nonce budget (rotation before it is spent, never a wrap past it, never reused after
 * a restart) and rotation by age on a clock the test moves.
 */
class TenantRotationTest {

  private static final ActorTestKit testKit = ActorTestKit.create(TenantEntityTest.CONFIG);
  private static final ExecutorService blocking = Executors.newCachedThreadPool();
  private static final SecureRandom RANDOM = new SecureRandom();

  private final TenantClockRulesTest.MovableClock clock = new TenantClockRulesTest.MovableClock();
  private final List<TenantEvents.StatusChanged> published = new CopyOnWriteArrayList<>();
  private final MasterKey master = MasterKey.unsealedWith(KeyMaterial.random(32, RANDOM));
  private RecordingKeystore keystore;
  private EventSourcedBehaviorTestKit<Command, Event, TenantState> tenant;

  @AfterAll
  static void tearDown() {
    testKit.shutdownTestKit();
    blocking.shutdownNow();
  }

  private void start(KeyLifecycle lifecycle) throws Exception {
    keystore =
        new RecordingKeystore(
            new L1Keystores(
                List.of(
                    new DevFileKeystore(
                        Files.createTempDirectory("openkcm-rotation"), true, blocking))));
    TenantDependencies deps =
        new TenantDependencies(
            keystore,
            RANDOM,
            clock,
            TenantSettings.forTests(1000).withLifecycle(lifecycle),
            KillSwitchView.NONE,
            master,
            published::add);
    tenant =
        EventSourcedBehaviorTestKit.create(testKit.system(), TenantEntity.create("acme", deps));
    assertTrue(summary(r -> new TenantEntity.Onboard("devfile:acme-root", "c", r)).isSuccess());
    assertTrue(summary(r -> new TenantEntity.CreateService("payments", "c", r)).isSuccess());
  }

  private static KeyLifecycle budget(long max, long rotateAt, long block) {
    return new KeyLifecycle(max, rotateAt, block, Duration.ofDays(90), Duration.ofDays(365));
  }

  @Test
  void aRotatedServiceWrapsWithTheNewVersionAndOldEnvelopesStillOpen() throws Exception {
    start(KeyLifecycle.DEFAULTS);
    Wrapped before = wrap(3);
    assertEquals(1, before.l3Version());
    StatusReply<TenantSummary> rotated =
        summary(r -> new LifecycleProtocol.RotateService("payments", "alice", "c", r));
    assertTrue(rotated.isSuccess(), rotated::toString);
    TenantSummary.ServiceSummary payments = rotated.getValue().services().get(0);
    assertEquals(2, payments.l3Version());
    assertEquals(
        List.of(KeyVersionState.DECRYPT_ONLY, KeyVersionState.ACTIVE),
        payments.versions().stream().map(TenantSummary.VersionSummary::state).toList());
    assertTrue(
        published.stream().anyMatch(p -> p.kind() == TenantEventKind.KEY_ROTATED),
        "gateways are told to drop pooled DEKs");
    Wrapped after = wrap(3);
    assertEquals(2, after.l3Version());
    assertOpen(before);
    assertOpen(after);
    tenant.restart(); // unsealed again from L1: both versions come back from the journal
    assertOpen(before);
    assertOpen(after);
  }

  @Test
  void anL2RotationRewrapsEveryL3UnderTheNewL2AndNothingNeedsRewrapping() throws Exception {
    start(KeyLifecycle.DEFAULTS);
    Wrapped v1 = wrap(2);
    assertTrue(
        summary(r -> new LifecycleProtocol.RotateService("payments", "alice", "c", r)).isSuccess());
    Wrapped v2 = wrap(2);
    KeyMaterial oldL2 = keystore.lastWrapped();
    var result =
        tenant.<StatusReply<TenantSummary>>runCommand(
            r -> new LifecycleProtocol.RotateL2("alice", "c-l2", r));
    assertTrue(result.reply().isSuccess(), () -> result.reply().toString());
    assertEquals(2, result.reply().getValue().l2Version());
    KeyMaterial newL2 = keystore.lastWrapped();
    assertFalse(newL2.sameKeyAs(oldL2), "a new L2");
    TenantState.Registered state = (TenantState.Registered) result.state();
    assertEquals("2", state.l1Context().get("openkcm:l2-version"));
    state.services().get("payments").versions().forEach(w -> assertEquals(2, w.l2Version()));
    assertOpen(v1);
    assertOpen(v2);
    tenant.restart(); // the chain now opens only through the new L2
    assertOpen(v1);
    assertOpen(v2);
    assertEquals(2, wrap(1).l3Version(), "the active L3 is unchanged by an L2 rotation");
  }

  @Test
  void theNonceBudgetRotatesTheL3BeforeItIsSpentAndNeverWrapsPastIt() throws Exception {
    start(budget(10, 8, 3));
    List<Wrapped> all = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      all.add(wrap(2));
    }
    // 8 wraps per version at most: v1 takes 4 batches of 2, then v2, then v3
    assertEquals(
        List.of(1L, 1L, 1L, 1L, 2L, 2L, 2L, 2L, 3L, 3L),
        all.stream().map(Wrapped::l3Version).toList());
    all.forEach(this::assertOpen);
    StatusReply<Wrapped> tooBig = wrapReply(11);
    assertReason(ErrorReason.NONCE_BUDGET_EXHAUSTED, tooBig);
    assertTrue(
        tooBig.getError().getMessage().contains("max-wraps"), tooBig.getError().getMessage());
  }

  @Test
  void aRestartSkipsTheRestOfItsReservedBlockAndNeverReusesBudget() throws Exception {
    start(budget(12, 12, 5)); // the service starts with 5 wraps of v1 reserved
    assertEquals(1, wrap(3).l3Version());
    tenant.restart(); // a crash: counting resumes at 5 (the 2 unused are skipped)
    assertEquals(1, wrap(4).l3Version()); // 9 of 12: reserves up to 12
    assertEquals(1, wrap(3).l3Version()); // 12 of 12
    // Counting only what was wrapped (10) would allow this one under v1: the budget says no.
    assertEquals(2, wrap(1).l3Version());
    TenantSummary.ServiceSummary payments = summaryOf().services().get(0);
    assertEquals(12, payments.versions().get(0).wraps(), "v1 spent its budget");
  }

  @Test
  void aReplicaNeverRotatesByAgeOrBudgetAndWrapsOnlyItsShareOfTheBudget() throws Exception {
    start(budget(10, 8, 3)); // the home region (this entity) onboards the tenant and its service
    MasterKey here = MasterKey.unsealedWith(KeyMaterial.random(32, RANDOM));
    // two regions share the L3 versions: each wraps at most 10 / 2 with one, rotation at 8 / 2
    KeyLifecycle share = budget(10, 8, 3).sharedBy(2);
    assertEquals(5, share.maxWrapsPerL3());
    ActorTestKit region2 = ActorTestKit.create("replica-region", TenantEntityTest.CONFIG);
    try {
      EventSourcedBehaviorTestKit<Command, Event, TenantState> replica =
          EventSourcedBehaviorTestKit.create(
              region2.system(),
              TenantEntity.create(
                  "acme",
                  new TenantDependencies(
                      keystore,
                      RANDOM,
                      clock,
                      TenantSettings.forTests(1000).withLifecycle(share),
                      KillSwitchView.NONE,
                      here)));
      // the home's events, in the form they cross regions
      List<Object> atHome = tenant.persistenceTestKit().persistedInStorage("Tenant|acme");
      for (int i = 0; i < atHome.size(); i++) {
        var portable = TenantReplication.portable("acme", (Event) atHome.get(i), master);
        if (portable.isEmpty()) {
          continue;
        }
        long seq = i + 1;
        var applied =
            replica
                .<StatusReply<ReplicaOutcome>>runCommand(
                    r -> new TenantEntity.ApplyReplicated("eu", seq, portable.get(), 1_000_000, r))
                .reply();
        assertEquals(ReplicaOutcome.Kind.APPLIED, applied.getValue().kind(), applied::toString);
      }
      List<Long> versions = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        StatusReply<Wrapped> w = wrapReply(replica, 1);
        assertTrue(w.isSuccess(), w::toString);
        versions.add(w.getValue().l3Version());
      }
      assertEquals(
          List.of(1L, 1L, 1L, 1L, 1L), versions, "past rotate-at: still v1 (home rotates)");
      assertReason(ErrorReason.NONCE_BUDGET_EXHAUSTED, wrapReply(replica, 1));
      clock.advance(Duration.ofDays(91)); // past l3-max-age
      replica.runCommand(new TenantEntity.LifecycleTick());
      List<Object> persisted = replica.persistenceTestKit().persistedInStorage("Tenant|acme");
      assertTrue(
          persisted.stream().noneMatch(e -> e instanceof LifecycleProtocol.L3Rotated),
          "a replica never makes a key version: " + persisted);
      assertReason(ErrorReason.NONCE_BUDGET_EXHAUSTED, wrapReply(replica, 1));
    } finally {
      region2.shutdownTestKit();
    }
  }

  @Test
  void anL3OlderThanItsCryptoperiodRotatesByItself() throws Exception {
    start(new KeyLifecycle(1L << 30, 3L << 28, 1000, Duration.ofDays(90), Duration.ofDays(3650)));
    Wrapped old = wrap(1);
    tenant.runCommand(new TenantEntity.LifecycleTick());
    assertEquals(1, summaryOf().services().get(0).l3Version(), "young: nothing rotates");
    clock.advance(Duration.ofDays(91));
    tenant.runCommand(new TenantEntity.LifecycleTick());
    assertEquals(2, summaryOf().services().get(0).l3Version(), "past l3-max-age: rotated");
    assertEquals(2, wrap(1).l3Version());
    assertOpen(old);
  }

  @Test
  void aServiceOwnCryptoperiodOverridesTheDefault() throws Exception {
    start(KeyLifecycle.DEFAULTS); // 90 days by default
    Wrapped old = wrap(1);
    StatusReply<TenantSummary> tooShort =
        summary(
            r ->
                new LifecycleProtocol.SetRotationPolicy(
                    "payments",
                    java.util.Optional.of(Duration.ofMinutes(5)),
                    java.util.Optional.empty(),
                    "ops",
                    "c",
                    r));
    assertReason(ErrorReason.INVALID_ARGUMENT, tooShort);
    assertReason(
        ErrorReason.INVALID_ARGUMENT,
        summary(
            r ->
                new LifecycleProtocol.SetRotationPolicy(
                    "payments",
                    java.util.Optional.empty(),
                    java.util.Optional.of(Duration.ofDays(30)),
                    "ops",
                    "c",
                    r)));
    StatusReply<TenantSummary> set =
        summary(
            r ->
                new LifecycleProtocol.SetRotationPolicy(
                    "payments",
                    java.util.Optional.of(Duration.ofDays(10)),
                    java.util.Optional.empty(),
                    "ops",
                    "c",
                    r));
    assertTrue(set.isSuccess(), set::toString);
    assertEquals(Duration.ofDays(10), set.getValue().services().get(0).l3MaxAge());
    assertEquals(Duration.ofDays(365), set.getValue().l2MaxAge(), "the default stays");
    clock.advance(Duration.ofDays(11));
    tenant.runCommand(new TenantEntity.LifecycleTick());
    assertEquals(2, summaryOf().services().get(0).l3Version(), "rotated after its own 10 days");
    assertOpen(old);
  }

  @Test
  void anL2OlderThanItsCryptoperiodRotatesThroughL1ByItself() throws Exception {
    start(new KeyLifecycle(1L << 30, 3L << 28, 1000, Duration.ofDays(3650), Duration.ofDays(365)));
    Wrapped old = wrap(1);
    clock.advance(Duration.ofDays(366));
    tenant.runCommand(new TenantEntity.LifecycleTick());
    // the rotation goes through the customer's L1 asynchronously: wait for its answer
    org.apache.pekko.actor.testkit.typed.javadsl.TestProbe<Object> probe =
        testKit.createTestProbe();
    probe.awaitAssert(
        Duration.ofSeconds(10),
        () -> {
          assertEquals(2, summaryOf().l2Version());
          return null;
        });
    assertOpen(old);
  }

  @Test
  void rewrapMovesOldEnvelopesToTheActiveVersionKeepingTheirContext() throws Exception {
    start(KeyLifecycle.DEFAULTS);
    List<byte[]> deks = new ArrayList<>();
    List<WrapItem> items = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      byte[] dek = new byte[32];
      RANDOM.nextBytes(dek);
      deks.add(dek);
      items.add(new WrapItem(dek, Map.of("order", "o-" + i)));
    }
    Wrapped v1 =
        tenant
            .<StatusReply<Wrapped>>runCommand(
                r -> new TenantEntity.WrapKeys("payments", items, "c", r))
            .reply()
            .getValue();
    assertTrue(
        summary(r -> new LifecycleProtocol.RotateService("payments", "alice", "c", r)).isSuccess());
    List<UnwrapItem> rewrap = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      rewrap.add(new UnwrapItem(v1.envelopes().get(i), Map.of("order", "o-" + i)));
    }
    rewrap.add(new UnwrapItem(v1.envelopes().get(0), Map.of("order", "someone-else"))); // wrong
    KeyBatch.Rewrapped out =
        tenant
            .<StatusReply<KeyBatch.Rewrapped>>runCommand(
                r -> new TenantEntity.RewrapKeys(rewrap, "c", r))
            .reply()
            .getValue();
    for (int i = 0; i < 3; i++) {
      KeyBatch.RewrapOutcome o = out.outcomes().get(i);
      assertTrue(o.isOk(), o::toString);
      assertEquals(2, o.l3Version());
      assertEquals(2, org.openkcm.protocol.envelope.EnvelopeCodec.decode(o.envelope()).l3Version());
      // the same DEK, bound to the same context, under the new version
      UnwrapOutcome back =
          unwrap(new UnwrapItem(o.envelope(), Map.of("order", "o-" + i))).outcomes().get(0);
      assertTrue(back.isOk(), back::toString);
      org.junit.jupiter.api.Assertions.assertArrayEquals(deks.get(i), back.plaintext());
      UnwrapOutcome otherContext =
          unwrap(new UnwrapItem(o.envelope(), Map.of("order", "o-9"))).outcomes().get(0);
      assertEquals(ErrorReason.ENVELOPE_AUTHENTICATION_FAILED.name(), otherContext.errorReason());
    }
    assertEquals(
        ErrorReason.ENVELOPE_AUTHENTICATION_FAILED.name(), out.outcomes().get(3).errorReason());
    // already under the active version: the same bytes back, no wrap spent
    byte[] active = out.outcomes().get(0).envelope();
    KeyBatch.RewrapOutcome again =
        tenant
            .<StatusReply<KeyBatch.Rewrapped>>runCommand(
                r ->
                    new TenantEntity.RewrapKeys(
                        List.of(new UnwrapItem(active, Map.of("order", "o-0"))), "c", r))
            .reply()
            .getValue()
            .outcomes()
            .get(0);
    org.junit.jupiter.api.Assertions.assertArrayEquals(active, again.envelope());
  }

  @Test
  void retiredVersionsAreDestroyedEverywhereAndTheirEnvelopesAnswerRetired() throws Exception {
    start(KeyLifecycle.DEFAULTS);
    Wrapped v1 = wrap(2);
    assertTrue(
        summary(r -> new LifecycleProtocol.RotateService("payments", "alice", "c", r)).isSuccess());
    Wrapped v2 = wrap(2);
    assertReason(
        ErrorReason.INVALID_ARGUMENT,
        summary(r -> new LifecycleProtocol.RetireVersions("payments", 3, "bob", "c", r)));
    var result =
        tenant.<StatusReply<TenantSummary>>runCommand(
            r -> new LifecycleProtocol.RetireVersions("payments", 2, "bob", "c-retire", r));
    assertTrue(result.reply().isSuccess(), () -> result.reply().toString());
    List<TenantSummary.VersionSummary> versions =
        result.reply().getValue().services().get(0).versions();
    assertEquals(
        List.of(KeyVersionState.RETIRED, KeyVersionState.ACTIVE),
        versions.stream().map(TenantSummary.VersionSummary::state).toList());
    assertEquals(
        64, versions.get(0).destroyedSha256().length(), "a SHA-256 names the destroyed blob");
    assertEquals("", versions.get(1).destroyedSha256());

    assertRetired(v1);
    assertOpen(v2);
    // the journal no longer holds an event with the v1 blob; only the snapshot since
    String pid = "Tenant|acme";
    org.apache.pekko.actor.testkit.typed.javadsl.TestProbe<Object> probe =
        testKit.createTestProbe();
    probe.awaitAssert(
        Duration.ofSeconds(5),
        () -> {
          List<Object> events = tenant.persistenceTestKit().persistedInStorage(pid);
          assertTrue(
              events.stream()
                  .noneMatch(
                      e ->
                          e instanceof TenantEntity.ServiceCreated
                              || e instanceof TenantEntity.TenantOnboarded),
              () -> "events before the retirement remain: " + events);
          return null;
        });
    tenant.restart(); // recovered from the snapshot: v1 is still gone, v2 still opens
    assertRetired(v1);
    assertOpen(v2);
    assertEquals(2, summaryOf().services().get(0).versions().size());
  }

  @Test
  void rewrapL2WrapsTheSameL2AgainUnderTheCurrentL1() throws Exception {
    start(KeyLifecycle.DEFAULTS);
    Wrapped before = wrap(2);
    byte[] oldBlob = ((TenantState.Registered) tenant.getState()).wrappedL2();
    KeyMaterial l2 = keystore.lastWrapped();
    StatusReply<TenantSummary> r = summary(c -> new LifecycleProtocol.RewrapL2("alice", "c", c));
    assertTrue(r.isSuccess(), r::toString);
    assertEquals(1, r.getValue().l2Version(), "the same L2 version");
    assertTrue(l2.sameKeyAs(keystore.lastWrapped()), "the same L2, wrapped again");
    byte[] newBlob = ((TenantState.Registered) tenant.getState()).wrappedL2();
    assertFalse(java.util.Arrays.equals(oldBlob, newBlob), "a new blob");
    tenant.restart(); // unsealed through the new blob
    assertOpen(before);
  }

  private void assertRetired(Wrapped w) {
    UnwrapOutcome o =
        unwrap(new UnwrapItem(w.envelopes().get(0), Map.of("i", "0"))).outcomes().get(0);
    assertEquals(ErrorReason.KEY_VERSION_RETIRED.name(), o.errorReason(), o::toString);
    KeyBatch.RewrapOutcome r =
        tenant
            .<StatusReply<KeyBatch.Rewrapped>>runCommand(
                replyTo ->
                    new TenantEntity.RewrapKeys(
                        List.of(new UnwrapItem(w.envelopes().get(0), Map.of("i", "0"))),
                        "c",
                        replyTo))
            .reply()
            .getValue()
            .outcomes()
            .get(0);
    assertEquals(ErrorReason.KEY_VERSION_RETIRED.name(), r.errorReason());
  }

  // ---------------------------------------------------------------- helpers

  private Unwrapped unwrap(UnwrapItem item) {
    return tenant
        .<StatusReply<Unwrapped>>runCommand(r -> new TenantEntity.UnwrapKeys(List.of(item), "c", r))
        .reply()
        .getValue();
  }

  private Wrapped wrap(int n) {
    StatusReply<Wrapped> r = wrapReply(n);
    assertTrue(r.isSuccess(), r::toString);
    return r.getValue();
  }

  private StatusReply<Wrapped> wrapReply(int n) {
    return wrapReply(tenant, n);
  }

  private static StatusReply<Wrapped> wrapReply(
      EventSourcedBehaviorTestKit<Command, Event, TenantState> tenant, int n) {
    List<WrapItem> items = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      byte[] dek = new byte[32];
      RANDOM.nextBytes(dek);
      items.add(new WrapItem(dek, Map.of("i", Integer.toString(i))));
    }
    return tenant
        .<StatusReply<Wrapped>>runCommand(r -> new TenantEntity.WrapKeys("payments", items, "c", r))
        .reply();
  }

  /** Every envelope of {@code w} opens (with the context it was made with). */
  private void assertOpen(Wrapped w) {
    List<UnwrapItem> items = new ArrayList<>();
    for (int i = 0; i < w.envelopes().size(); i++) {
      items.add(new UnwrapItem(w.envelopes().get(i), Map.of("i", Integer.toString(i))));
    }
    StatusReply<Unwrapped> r =
        tenant
            .<StatusReply<Unwrapped>>runCommand(
                replyTo -> new TenantEntity.UnwrapKeys(items, "c", replyTo))
            .reply();
    assertTrue(r.isSuccess(), r::toString);
    for (UnwrapOutcome o : r.getValue().outcomes()) {
      assertTrue(o.isOk(), o::toString);
      assertEquals(32, o.plaintext().length);
    }
  }

  private StatusReply<TenantSummary> summary(
      Function<ActorRef<StatusReply<TenantSummary>>, Command> f) {
    return tenant.<StatusReply<TenantSummary>>runCommand(f).reply();
  }

  private TenantSummary summaryOf() {
    return summary(TenantEntity.GetSummary::new).getValue();
  }

  private static void assertReason(ErrorReason expected, StatusReply<?> reply) {
    assertTrue(reply.isError(), () -> "expected " + expected + " but got " + reply);
    assertEquals(
        expected,
        org.openkcm.core.reply.Rejections.parse(reply.getError()).reason(),
        reply.getError().getMessage());
  }
}
