package org.openkcm.core.tenant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.openkcm.core.keystore.DevFileKeystore;
import org.openkcm.core.keystore.L1Keystores;
import org.openkcm.core.killswitch.KillSwitchView;
import org.openkcm.core.seal.MasterKey;
import org.openkcm.core.tenant.TenantEntity.Command;
import org.openkcm.core.tenant.TenantEntity.Event;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * A replica tenant fed another region's events directly: each applied once, whatever is resent; the
 * lifecycle writes answered NOT_HOME_REGION; the blob sealed with this region's master key; and
 * every event its state does not admit refused with a typed reason, nothing persisted.
 */
class ReplicaApplyTest {

  private static final ActorTestKit testKit = ActorTestKit.create(TenantEntityTest.CONFIG);
  private static final ExecutorService blocking = Executors.newCachedThreadPool();

  @AfterAll
  static void tearDown() {
    testKit.shutdownTestKit();
    blocking.shutdownNow();
  }

  private static final SecureRandom random = new SecureRandom();
  private static final MasterKey home = MasterKey.unsealedWith(KeyMaterial.random(32, random));
  private static final MasterKey here = MasterKey.unsealedWith(KeyMaterial.random(32, random));

  private static EventSourcedBehaviorTestKit<Command, Event, TenantState> replica(String tenant)
      throws Exception {
    return EventSourcedBehaviorTestKit.create(
        testKit.system(),
        TenantEntity.create(
            tenant,
            new TenantDependencies(
                new L1Keystores(
                    List.of(
                        new DevFileKeystore(
                            Files.createTempDirectory("openkcm-replica"), true, blocking))),
                random,
                Clock.systemUTC(),
                TenantSettings.forTests(100),
                KillSwitchView.NONE,
                here)));
  }

  private static byte[] blob() {
    byte[] b = new byte[48];
    random.nextBytes(b);
    return b;
  }

  /** What region eu persisted at onboarding, in its portable form. */
  private static Event onboarding(String tenant) {
    return TenantReplication.portable(
            tenant,
            new TenantEntity.TenantOnboarded(
                tenant,
                "devfile:" + tenant + "-root",
                1,
                home.seal(blob(), KeyChain.l2Purpose(tenant)),
                Map.of("openkcm:tenant", tenant),
                Instant.now(),
                "c"),
            home)
        .orElseThrow();
  }

  private static Event service(String tenant, String service, long version) {
    return TenantReplication.portable(
            tenant,
            new TenantEntity.ServiceCreated(
                service,
                version,
                1,
                home.seal(blob(), KeyChain.l3Purpose(tenant, service, version)),
                Instant.now(),
                "c",
                false),
            home)
        .orElseThrow();
  }

  private static Event rotation(String tenant, String service, long version) {
    return TenantReplication.portable(
            tenant,
            new LifecycleProtocol.L3Rotated(
                service,
                version,
                1,
                home.seal(blob(), KeyChain.l3Purpose(tenant, service, version)),
                Instant.now(),
                "c",
                "officer",
                "asked",
                false),
            home)
        .orElseThrow();
  }

  private static ReplicaOutcome apply(
      EventSourcedBehaviorTestKit<Command, Event, TenantState> replica,
      String origin,
      long seq,
      Event event) {
    return apply(replica, origin, seq, 0, event);
  }

  private static ReplicaOutcome apply(
      EventSourcedBehaviorTestKit<Command, Event, TenantState> replica,
      String origin,
      long seq,
      long previous,
      Event event) {
    EventSourcedBehaviorTestKit.CommandResultWithReply<
            Command, Event, TenantState, StatusReply<ReplicaOutcome>>
        result =
            replica.runCommand(
                r -> new TenantEntity.ApplyReplicated(origin, seq, event, 1_000_000, previous, r));
    ReplicaOutcome outcome = result.reply().getValue();
    if (outcome.kind() != ReplicaOutcome.Kind.APPLIED) {
      assertTrue(result.events().isEmpty(), "nothing persisted for " + outcome);
    }
    return outcome;
  }

  private static void assertRefused(ReplicaOutcome.Refusal why, ReplicaOutcome outcome) {
    assertEquals(ReplicaOutcome.Kind.REFUSED, outcome.kind(), outcome::toString);
    assertEquals(why, outcome.refusal(), outcome::toString);
  }

  @Test
  void eventsFromAnotherRegionApplyOnceAndTheReplicaRefusesHomeWrites() throws Exception {
    EventSourcedBehaviorTestKit<Command, Event, TenantState> replica = replica("acme");
    byte[] l1Wrapped = blob();
    // what the home region persisted, and its portable form on the wire
    TenantEntity.TenantOnboarded atHome =
        new TenantEntity.TenantOnboarded(
            "acme",
            "devfile:acme-root",
            1,
            home.seal(l1Wrapped, KeyChain.l2Purpose("acme")),
            Map.of("openkcm:tenant", "acme"),
            Instant.now(),
            "c");
    Event portable = TenantReplication.portable("acme", atHome, home).orElseThrow();
    for (int i = 0; i < 2; i++) { // sent twice: applied once
      assertEquals(
          i == 0 ? ReplicaOutcome.Kind.APPLIED : ReplicaOutcome.Kind.DUPLICATE,
          apply(replica, "eu", 7, portable).kind());
    }
    TenantState.Registered state = (TenantState.Registered) replica.getState();
    assertEquals("eu", state.homeRegion());
    assertEquals(7, state.replicatedUpTo("eu"));
    assertTrue(java.util.Arrays.equals(l1Wrapped, here.open(state.wrappedL2(), "l2:acme")));
    assertFalse(
        java.util.Arrays.equals(atHome.wrappedL2(), state.wrappedL2()),
        "sealed with this region's key");

    // kill wins: a replica's own kill, then a revive from home that names an older kill
    StatusReply<TenantSummary> killed =
        replica
            .<StatusReply<TenantSummary>>runCommand(
                r -> new TenantEntity.Kill("seen here", "ops", "c", r))
            .reply();
    assertTrue(killed.isSuccess(), killed::toString);
    assertEquals(
        ReplicaOutcome.Kind.APPLIED,
        apply(
                replica,
                "eu",
                9,
                new TenantEntity.TenantRevived("home-officer", Instant.now(), "c", "eu/older-kill"))
            .kind(),
        "applied (recorded) ...");
    assertTrue(
        ((TenantState.Registered) replica.getState()).killed().isPresent(),
        "... but it lifts nothing: the kill pulled here concurrently wins");
    // a revive naming no kill is refused outright (it used to lift any kill)
    assertRefused(
        ReplicaOutcome.Refusal.REVIVE_NAMES_NO_KILL,
        apply(replica, "eu", 10, new TenantEntity.TenantRevived("x", Instant.now(), "c", "")));
    assertTrue(((TenantState.Registered) replica.getState()).killed().isPresent());
    // a revive naming the kill in force lifts it
    String current = ((TenantState.Registered) replica.getState()).killId();
    apply(
        replica,
        "eu",
        11,
        new TenantEntity.TenantRevived("home-officer", Instant.now(), "c", current));
    assertTrue(((TenantState.Registered) replica.getState()).killed().isEmpty());

    StatusReply<TenantSummary> notHome =
        replica
            .<StatusReply<TenantSummary>>runCommand(
                r -> new TenantEntity.CreateService("payments", "c", r))
            .reply();
    assertEquals(
        ErrorReason.NOT_HOME_REGION,
        org.openkcm.core.reply.Rejections.parse(notHome.getError()).reason());
  }

  @Test
  void anEventWhosePreviousNeverArrivedIsNotAppliedUntilTheGapIsFilled() throws Exception {
    EventSourcedBehaviorTestKit<Command, Event, TenantState> replica = replica("holes");
    assertEquals(
        ReplicaOutcome.Kind.APPLIED, apply(replica, "eu", 1, 0, onboarding("holes")).kind());
    // #5 follows #3 at home (#4 never crosses), but #3 never arrived: not applied, nothing
    // persisted
    ReplicaOutcome gap = apply(replica, "eu", 5, 3, rotation("holes", "payments", 2));
    assertEquals(ReplicaOutcome.Kind.GAP, gap.kind(), gap::toString);
    assertEquals(1, gap.replicatedUpTo(), "the catch-up starts after #1");
    assertEquals(1, replica.getState().replicatedUpTo("eu"));
    // the catch-up delivers #3 (no check: it is in order), then #5 applies as it names #3
    assertEquals(
        ReplicaOutcome.Kind.APPLIED,
        apply(replica, "eu", 3, 0, service("holes", "payments", 1)).kind());
    assertEquals(
        ReplicaOutcome.Kind.APPLIED,
        apply(replica, "eu", 5, 3, rotation("holes", "payments", 2)).kind());
    assertEquals(5, replica.getState().replicatedUpTo("eu"));
    // a previous number at or past the event's own is no gap (nonsense is not chased)
    assertEquals(
        ReplicaOutcome.Kind.APPLIED,
        apply(replica, "eu", 6, 6, rotation("holes", "payments", 3)).kind());
  }

  @Test
  void homeWritesFromARegionThatIsNotTheTenantsHomeAreRefusedAndNothingIsPersisted()
      throws Exception {
    EventSourcedBehaviorTestKit<Command, Event, TenantState> replica = replica("forged");
    apply(replica, "eu", 1, onboarding("forged"));
    apply(replica, "eu", 2, service("forged", "payments", 1));
    // region us (a peer, but not the tenant's home) forges the sovereign things
    List<Event> forged =
        List.of(
            new LifecycleProtocol.TenantOffboarded(
                "forged", "forged", "us-officer", Instant.now(), "c", List.of()),
            new TenantEntity.TenantRevived("us", Instant.now(), "c", "any"),
            new TenantEntity.L1Linked(
                "devfile:other-root", blob(), Map.of(), Instant.now(), "c", "a", "b"),
            rotation("forged", "payments", 2),
            service("forged", "ledger", 1),
            new LifecycleProtocol.RotationPolicySet("", 1, 1, Instant.now(), "c", "us"),
            new TenantEntity.L1Restored(Instant.now(), "c"));
    TenantState before = replica.getState();
    long seq = 1;
    for (Event e : forged) {
      assertRefused(ReplicaOutcome.Refusal.NOT_FROM_HOME, apply(replica, "us", seq++, e));
    }
    assertEquals(before, replica.getState(), "state unchanged");
    assertEquals(0, replica.getState().replicatedUpTo("us"), "no sequence number taken");
    // ... while any region may stop the tenant: a kill always wins
    assertEquals(
        ReplicaOutcome.Kind.APPLIED,
        apply(
                replica,
                "us",
                seq,
                new TenantEntity.TenantKilled("seen in us", "us-ops", Instant.now(), "c", "us/k1"))
            .kind());
    assertTrue(((TenantState.Registered) replica.getState()).killed().isPresent());
  }

  @Test
  void inconsistentHomeEventsAreRefused() throws Exception {
    EventSourcedBehaviorTestKit<Command, Event, TenantState> replica = replica("strict");
    apply(replica, "eu", 1, onboarding("strict"));
    apply(replica, "eu", 2, service("strict", "payments", 1));
    // a version number never names two keys
    assertRefused(
        ReplicaOutcome.Refusal.VERSION_REUSED,
        apply(replica, "eu", 3, rotation("strict", "payments", 1)));
    assertRefused(
        ReplicaOutcome.Refusal.UNKNOWN_SERVICE,
        apply(replica, "eu", 3, rotation("strict", "nope", 2)));
    assertRefused(
        ReplicaOutcome.Refusal.SERVICE_EXISTS,
        apply(replica, "eu", 3, service("strict", "payments", 1)));
    // an L1 outside the key domain pinned at onboarding
    assertRefused(
        ReplicaOutcome.Refusal.KEY_DOMAIN_MISMATCH,
        apply(
            replica,
            "eu",
            3,
            new TenantEntity.L1Linked(
                "pkcs11:token=elsewhere;object=k",
                blob(),
                Map.of(),
                Instant.now(),
                "c",
                "a",
                "b")));
    // the same id onboarded again (by its home or anyone): parked, never persisted
    assertRefused(
        ReplicaOutcome.Refusal.ONBOARDING_CONFLICT, apply(replica, "eu", 3, onboarding("strict")));
    assertRefused(
        ReplicaOutcome.Refusal.ONBOARDING_CONFLICT, apply(replica, "us", 1, onboarding("strict")));
    // nothing of budget reservations or copies crosses
    assertRefused(
        ReplicaOutcome.Refusal.NOT_REPLICABLE,
        apply(replica, "eu", 3, new LifecycleProtocol.WrapBudgetReserved("payments", 1, 10)));
    // a sequence number far ahead would make every later real event look like a duplicate
    assertRefused(
        ReplicaOutcome.Refusal.SEQUENCE_JUMP,
        apply(replica, "eu", Long.MAX_VALUE, rotation("strict", "payments", 2)));
    assertEquals(
        ReplicaOutcome.Kind.APPLIED,
        apply(replica, "eu", 3, rotation("strict", "payments", 2)).kind(),
        "the real next event still applies");
    // the tenant recovers from its journal
    replica.restart();
    assertEquals(
        2,
        ((TenantState.Registered) replica.getState()).services().get("payments").currentVersion());
  }

  @Test
  void killsFromSeveralRegionsConvergeWhateverTheOrderAndAReviveLiftsOnlyThoseItNames()
      throws Exception {
    Instant t1 = Instant.parse("2026-12-01T10:00:00Z");
    Instant t2 = Instant.parse("2026-12-01T10:00:05Z");
    Event homeKill = new TenantEntity.TenantKilled("at home", "eu-ops", t1, "c", "eu/k1");
    Event usKill = new TenantEntity.TenantKilled("in us", "us-ops", t2, "c", "us/k2");
    // region ap hears eu's kill first, region sa us's kill first: both end in one state
    EventSourcedBehaviorTestKit<Command, Event, TenantState> ap = replica("kills-ap");
    EventSourcedBehaviorTestKit<Command, Event, TenantState> sa = replica("kills-sa");
    apply(ap, "eu", 1, onboarding("kills-ap"));
    apply(sa, "eu", 1, onboarding("kills-sa"));
    apply(ap, "eu", 2, homeKill);
    apply(ap, "us", 5, usKill);
    apply(sa, "us", 5, usKill);
    apply(sa, "eu", 2, homeKill);
    TenantState.Registered apState = (TenantState.Registered) ap.getState();
    TenantState.Registered saState = (TenantState.Registered) sa.getState();
    assertEquals(java.util.Set.of("eu/k1", "us/k2"), apState.kills().keySet());
    assertEquals(apState.kills(), saState.kills());
    assertEquals(apState.killed(), saState.killed());
    assertEquals(apState.killId(), saState.killId());
    assertEquals("at home", apState.killed().orElseThrow().reason(), "the earliest is shown");
    ap.restart();
    assertEquals(apState.kills(), ((TenantState.Registered) ap.getState()).kills(), "recovered");
    // the home revived what it knew of (its own kill): us's kill, pulled concurrently, holds
    apply(
        ap, "eu", 3, new TenantEntity.TenantRevived("officer", t2, "c", "eu/k1", List.of("eu/k1")));
    assertTrue(((TenantState.Registered) ap.getState()).killed().isPresent(), "a kill wins");
    assertEquals("in us", ((TenantState.Registered) ap.getState()).killed().orElseThrow().reason());
    // a revive naming both lifts both
    apply(
        ap,
        "eu",
        4,
        new TenantEntity.TenantRevived("officer", t2, "c", "eu/k1", List.of("eu/k1", "us/k2")));
    assertTrue(((TenantState.Registered) ap.getState()).killed().isEmpty());
  }

  @Test
  void aKillThatArrivesAfterTheReviveThatNamedItStaysLifted() throws Exception {
    // the home heard us's kill and revived it; region ap hears the revive before the kill
    EventSourcedBehaviorTestKit<Command, Event, TenantState> ap = replica("late-kill");
    apply(ap, "eu", 1, onboarding("late-kill"));
    apply(
        ap,
        "eu",
        2,
        new TenantEntity.TenantRevived("officer", Instant.now(), "c", "us/k", List.of("us/k")));
    apply(ap, "us", 3, new TenantEntity.TenantKilled("in us", "us", Instant.now(), "c", "us/k"));
    assertTrue(
        ((TenantState.Registered) ap.getState()).killed().isEmpty(),
        "as at home and in us: the revive named it");
    // a kill no revive named holds
    apply(ap, "us", 4, new TenantEntity.TenantKilled("again", "us", Instant.now(), "c", "us/k2"));
    assertTrue(((TenantState.Registered) ap.getState()).killed().isPresent());
  }

  @Test
  void aKillFromAReplicaThatArrivesBeforeTheHomesOnboardingHoldsFromTheOnboardingOn()
      throws Exception {
    // us killed a tenant homed in eu; this region hears us before it hears eu
    EventSourcedBehaviorTestKit<Command, Event, TenantState> here = replica("early-kill");
    assertEquals(
        ReplicaOutcome.Kind.APPLIED,
        apply(
                here,
                "us",
                9,
                new TenantEntity.TenantKilled("seen in us", "us", Instant.now(), "c", "us/k"))
            .kind());
    // a resend of that kill (or a catch-up that fetches it again) is applied once
    TenantEntity.TenantKilled again =
        new TenantEntity.TenantKilled("seen in us", "us", Instant.now(), "c", "us/k");
    assertEquals(ReplicaOutcome.Kind.DUPLICATE, apply(here, "us", 9, again).kind());
    apply(here, "eu", 1, onboarding("early-kill"));
    here.restart(); // and after recovery
    TenantState.Registered s = (TenantState.Registered) here.getState();
    assertEquals(java.util.Set.of("us/k"), s.kills().keySet());
    assertEquals("seen in us", s.killed().orElseThrow().reason());
    assertEquals(9, s.replicatedUpTo("us"), "the onboarding keeps what was applied before it");
    assertEquals(ReplicaOutcome.Kind.DUPLICATE, apply(here, "us", 9, again).kind());
  }

  @Test
  void aReplicatedKillWithoutAnIdIsNamedByItsOriginAndNumber() throws Exception {
    EventSourcedBehaviorTestKit<Command, Event, TenantState> replica = replica("noid");
    apply(replica, "eu", 1, onboarding("noid"));
    apply(replica, "us", 7, new TenantEntity.TenantKilled("old", "us", Instant.now(), "c", ""));
    assertEquals(
        java.util.Set.of("us/7"), ((TenantState.Registered) replica.getState()).kills().keySet());
  }

  @Test
  void anEventTheHandlerCannotApplyIsRefusedNotPersisted() throws Exception {
    EventSourcedBehaviorTestKit<Command, Event, TenantState> replica = replica("broken");
    apply(replica, "eu", 1, onboarding("broken"));
    apply(replica, "eu", 2, service("broken", "payments", 1));
    apply(replica, "eu", 3, rotation("broken", "payments", 2));
    // admitted (from home, service known, below the active version), but its lists disagree
    assertRefused(
        ReplicaOutcome.Refusal.INAPPLICABLE,
        apply(
            replica,
            "eu",
            4,
            new LifecycleProtocol.L3VersionsRetired(
                "payments", 2, List.of(1L), List.of(), Instant.now(), "c", "officer")));
    assertEquals(3, replica.getState().replicatedUpTo("eu"), "its number not taken");
  }

  @Test
  void anOffboardedIdIsReCreatedOnlyByItsFormerHome() throws Exception {
    EventSourcedBehaviorTestKit<Command, Event, TenantState> replica = replica("left");
    apply(replica, "eu", 1, onboarding("left"));
    apply(
        replica,
        "eu",
        2,
        new LifecycleProtocol.TenantOffboarded(
            "left", "contract ended", "officer", Instant.now(), "c", List.of()));
    assertTrue(replica.getState() instanceof TenantState.Offboarded);
    assertRefused(
        ReplicaOutcome.Refusal.ONBOARDING_CONFLICT, apply(replica, "us", 1, onboarding("left")));
    assertEquals(ReplicaOutcome.Kind.APPLIED, apply(replica, "eu", 3, onboarding("left")).kind());
    assertEquals("eu", ((TenantState.Registered) replica.getState()).homeRegion());
  }

  @Test
  void eventsForATenantThisRegionDoesNotHoldAreRefused() throws Exception {
    EventSourcedBehaviorTestKit<Command, Event, TenantState> replica = replica("absent");
    assertRefused(
        ReplicaOutcome.Refusal.UNKNOWN_TENANT,
        apply(replica, "eu", 1, service("absent", "payments", 1)));
    assertRefused(
        ReplicaOutcome.Refusal.TENANT_MISMATCH, apply(replica, "eu", 1, onboarding("other")));
    assertEquals(new TenantState.Unregistered(), replica.getState());
  }

  @Test
  void aJournalHoldingAReplicatedEventThatDoesNotApplyStillRecovers() throws Exception {
    // written by an earlier version, which persisted a second onboarding before checking it
    EventSourcedBehaviorTestKit<Command, Event, TenantState> replica = replica("legacy");
    Event first = TenantReplication.sealed("legacy", onboarding("legacy"), here);
    Event second = TenantReplication.sealed("legacy", onboarding("legacy"), here);
    replica
        .persistenceTestKit()
        .persistForRecovery(
            "Tenant|legacy",
            List.of(
                new TenantEntity.Replicated("eu", 1, first),
                new TenantEntity.Replicated("us", 1, second)));
    replica.restart();
    TenantState.Registered state = (TenantState.Registered) replica.getState();
    assertEquals("eu", state.homeRegion(), "the first onboarding stands");
    assertEquals(1, state.replicatedUpTo("us"));
  }
}
