package org.openkcm.core.tenant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Function;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit.CommandResultWithReply;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openkcm.core.crypto.KeyWrap;
import org.openkcm.core.keystore.DevFileKeystore;
import org.openkcm.core.keystore.L1Keystores;
import org.openkcm.core.keystore.RecordingKeystore;
import org.openkcm.core.killswitch.KillRecord;
import org.openkcm.core.killswitch.KillScope;
import org.openkcm.core.killswitch.KillSwitchView;
import org.openkcm.core.seal.MasterKey;
import org.openkcm.core.tenant.KeyBatch.UnwrapItem;
import org.openkcm.core.tenant.KeyBatch.UnwrapOutcome;
import org.openkcm.core.tenant.KeyBatch.Unwrapped;
import org.openkcm.core.tenant.KeyBatch.WrapItem;
import org.openkcm.core.tenant.KeyBatch.Wrapped;
import org.openkcm.core.tenant.TenantEntity.Command;
import org.openkcm.core.tenant.TenantEntity.Event;
import org.openkcm.core.tenant.TenantEntity.ServiceCreated;
import org.openkcm.core.tenant.TenantEntity.TenantOnboarded;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * The tenant entity alone, on the persistence testkit's in-memory journal, with a real dev
 * keystore.
 */
class TenantEntityTest {

  static final Config CONFIG =
      EventSourcedBehaviorTestKit.config()
          .withFallback(ConfigFactory.parseResources("core/serialization.conf"))
          .withFallback(ConfigFactory.parseString("pekko.actor.provider = local"));

  private static final ActorTestKit testKit = ActorTestKit.create(CONFIG);
  private static final ExecutorService blocking = Executors.newCachedThreadPool();
  private static final SecureRandom RANDOM = new SecureRandom();

  private EventSourcedBehaviorTestKit<Command, Event, TenantState> tenant;
  private RecordingKeystore keystore;
  private DevFileKeystore dev;

  @BeforeEach
  void setUp() throws Exception {
    Path dir = Files.createTempDirectory("openkcm-tenant-test");
    dev = new DevFileKeystore(dir, true, blocking);
    keystore = new RecordingKeystore(new L1Keystores(List.of(dev)));
    tenant =
        EventSourcedBehaviorTestKit.create(testKit.system(), TenantEntity.create("acme", deps()));
  }

  @AfterAll
  static void tearDown() {
    testKit.shutdownTestKit();
    blocking.shutdownNow();
  }

  private final MasterKey master = MasterKey.unsealedWith(KeyMaterial.random(32, RANDOM));

  private TenantDependencies deps() {
    return new TenantDependencies(
        keystore,
        RANDOM,
        Clock.systemUTC(),
        TenantSettings.forTests(1000),
        KillSwitchView.NONE,
        master);
  }

  @Test
  void onboardingPersistsOnlyTheL1WrappedL2() {
    CommandResultWithReply<Command, Event, TenantState, StatusReply<TenantSummary>> r =
        tenant.runCommand(
            replyTo -> new TenantEntity.Onboard("devfile:acme-root", "cid-1", replyTo));
    assertTrue(r.reply().isSuccess(), () -> r.reply().toString());
    TenantOnboarded event = r.eventOfType(TenantOnboarded.class);
    assertEquals("devfile:acme-root", event.l1Reference());
    assertEquals(
        Map.of(
            "openkcm:tenant", "acme", "openkcm:l2-version", "1", "openkcm:correlation-id", "cid-1"),
        event.l1Context());

    KeyMaterial l2 = keystore.lastWrapped();
    assertSecretAbsent(event, l2.revealBytes());
    // persisted = master-sealed(L1-wrapped L2): the customer's L1 alone cannot open what a dump
    // shows...
    assertTrue(MasterKey.isSealedBlob(event.wrappedL2()));
    org.openkcm.core.keystore.L1Reference ref =
        org.openkcm.core.keystore.L1Reference.parse("devfile:acme-root");
    assertThrows(
        java.util.concurrent.CompletionException.class,
        () ->
            dev.unwrap(ref, event.wrappedL2(), event.l1Context(), "c")
                .toCompletableFuture()
                .join());
    // ...only the master key and then L1 together give L2 back
    byte[] l1Blob = master.open(event.wrappedL2(), "l2:acme");
    assertTrue(
        l2.sameKeyAs(dev.unwrap(ref, l1Blob, event.l1Context(), "c").toCompletableFuture().join()));
  }

  @Test
  void aSealedNodeRefusesWithCoreSealed() {
    onboardWithService();
    byte[] env = wrapOne(Map.of());
    tenant.restart();
    master.wipe();
    assertReason(
        ErrorReason.CORE_SEALED,
        tenant
            .<StatusReply<Unwrapped>>runCommand(
                r -> new TenantEntity.UnwrapKeys(List.of(new UnwrapItem(env, Map.of())), "c", r))
            .reply());
    assertReason(ErrorReason.CORE_SEALED, summaryReply(r -> new TenantEntity.CheckL1("c", r)));
  }

  @Test
  void creatingAServicePersistsOnlyTheL2WrappedL3() throws Exception {
    onboard();
    CommandResultWithReply<Command, Event, TenantState, StatusReply<TenantSummary>> r =
        tenant.runCommand(replyTo -> new TenantEntity.CreateService("payments", "cid-2", replyTo));
    assertTrue(r.reply().isSuccess());
    ServiceCreated event = r.eventOfType(ServiceCreated.class);
    KeyMaterial l2 = keystore.lastWrapped();
    // the blob opens with L2 (so it is L2-wrapped), and neither L2 nor that L3 appear in the
    // persisted bytes
    KeyMaterial l3 =
        KeyWrap.unwrap(
            l2,
            master.open(event.wrappedL3(), "l3:acme:payments:1"),
            org.openkcm.core.tenant.KeyChain.l3Aad("acme", "payments", 1, 1));
    assertSecretAbsent(event, l2.revealBytes());
    assertSecretAbsent(event, l3.revealBytes());
    assertSecretAbsent(r.state(), l3.revealBytes());
    assertSecretAbsent(r.state(), l2.revealBytes());
  }

  @Test
  void wrapAndUnwrapABatchRoundTrip() {
    onboardWithService();
    List<WrapItem> items = new ArrayList<>();
    List<byte[]> deks = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      byte[] dek = new byte[32];
      RANDOM.nextBytes(dek);
      deks.add(dek);
      items.add(new WrapItem(dek, Map.of("record", Integer.toString(i))));
    }
    CommandResultWithReply<Command, Event, TenantState, StatusReply<Wrapped>> w =
        tenant.runCommand(replyTo -> new TenantEntity.WrapKeys("payments", items, "c", replyTo));
    assertTrue(w.hasNoEvents(), "wrap persists nothing");
    List<byte[]> envelopes = w.reply().getValue().envelopes();
    assertEquals(100, envelopes.size());

    List<UnwrapItem> back = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      back.add(new UnwrapItem(envelopes.get(i), Map.of("record", Integer.toString(i))));
    }
    CommandResultWithReply<Command, Event, TenantState, StatusReply<Unwrapped>> u =
        tenant.runCommand(replyTo -> new TenantEntity.UnwrapKeys(back, "c", replyTo));
    assertTrue(u.hasNoEvents(), "unwrap persists nothing");
    for (int i = 0; i < 100; i++) {
      assertArrayEquals(deks.get(i), u.reply().getValue().outcomes().get(i).plaintext());
    }
  }

  @Test
  void eachBadItemOfABatchFailsAloneWithItsReason() {
    onboardWithService();
    byte[] env = wrapOne(Map.of("k", "v"));
    byte[] tampered = env.clone();
    tampered[tampered.length - 1] ^= 1;
    byte[] otherTenant = env.clone();
    otherTenant[7] = 'f'; // "acme" -> "acmf"
    List<UnwrapItem> items =
        List.of(
            new UnwrapItem(env, Map.of("k", "v")),
            new UnwrapItem(tampered, Map.of("k", "v")),
            new UnwrapItem(env, Map.of("k", "other")),
            new UnwrapItem(otherTenant, Map.of("k", "v")),
            new UnwrapItem(new byte[] {1, 2, 3}, Map.of()));
    List<UnwrapOutcome> out =
        tenant
            .<StatusReply<Unwrapped>>runCommand(
                replyTo -> new TenantEntity.UnwrapKeys(items, "c", replyTo))
            .reply()
            .getValue()
            .outcomes();
    assertTrue(out.get(0).isOk());
    assertEquals("ENVELOPE_AUTHENTICATION_FAILED", out.get(1).errorReason());
    assertEquals("ENVELOPE_AUTHENTICATION_FAILED", out.get(2).errorReason());
    assertEquals("ENVELOPE_TENANT_MISMATCH", out.get(3).errorReason());
    assertEquals("ENVELOPE_BAD_MAGIC", out.get(4).errorReason());
    out.subList(1, 5).forEach(o -> assertEquals(0, o.plaintext().length));
  }

  @Test
  void recoveryForgetsTheKeysAndTheFirstUseUnsealsFromL1() {
    onboardWithService();
    byte[] dek = new byte[32];
    RANDOM.nextBytes(dek);
    byte[] env =
        tenant
            .<StatusReply<Wrapped>>runCommand(
                replyTo ->
                    new TenantEntity.WrapKeys(
                        "payments", List.of(new WrapItem(dek, Map.of())), "c", replyTo))
            .reply()
            .getValue()
            .envelopes()
            .get(0);

    tenant.restart();
    assertFalse(summary().unsealed(), "after a restart no key is in memory");
    int before = keystore.unwrapCalls(); // onboarding's round trip through L1 counted one

    UnwrapOutcome o =
        tenant
            .<StatusReply<Unwrapped>>runCommand(
                replyTo ->
                    new TenantEntity.UnwrapKeys(
                        List.of(new UnwrapItem(env, Map.of())), "c", replyTo))
            .reply()
            .getValue()
            .outcomes()
            .get(0);
    assertArrayEquals(dek, o.plaintext());
    assertEquals(before + 1, keystore.unwrapCalls(), "one L1 call unsealed L2 and every L3");
    assertTrue(summary().unsealed());
  }

  @Test
  void disabledL1MakesUnsealFailWithL1RevokedAndReEnablingRecovers() {
    onboardWithService();
    byte[] env = wrapOne(Map.of());
    tenant.restart();
    dev.setEnabled("acme-root", false);

    StatusReply<Unwrapped> refused =
        tenant
            .<StatusReply<Unwrapped>>runCommand(
                replyTo ->
                    new TenantEntity.UnwrapKeys(
                        List.of(new UnwrapItem(env, Map.of())), "c", replyTo))
            .reply();
    assertEquals(
        ErrorReason.L1_REVOKED,
        org.openkcm.core.reply.Rejections.parse(refused.getError()).reason());
    assertTrue(refused.getError().getMessage().contains("devfile:acme-root"));

    dev.setEnabled("acme-root", true);
    StatusReply<Unwrapped> ok =
        tenant
            .<StatusReply<Unwrapped>>runCommand(
                replyTo ->
                    new TenantEntity.UnwrapKeys(
                        List.of(new UnwrapItem(env, Map.of())), "c", replyTo))
            .reply();
    assertTrue(ok.getValue().outcomes().get(0).isOk());
  }

  @Test
  void rejectionsNameTheirReason() {
    assertReason(ErrorReason.TENANT_NOT_FOUND, summaryReply(TenantEntity.GetSummary::new));
    assertReason(
        ErrorReason.INVALID_ARGUMENT,
        summaryReply(r -> new TenantEntity.Onboard("no-scheme", "c", r)));
    assertReason(
        ErrorReason.L1_REJECTED,
        summaryReply(r -> new TenantEntity.Onboard("aws-kms:arn:x", "c", r)));
    onboard();
    assertReason(
        ErrorReason.TENANT_ALREADY_EXISTS,
        summaryReply(r -> new TenantEntity.Onboard("devfile:acme-root", "c", r)));
    assertReason(
        ErrorReason.INVALID_ARGUMENT,
        summaryReply(r -> new TenantEntity.CreateService("Bad Name", "c", r)));
    assertReason(
        ErrorReason.SERVICE_NOT_FOUND, wrapReply(List.of(new WrapItem(new byte[32], Map.of()))));
    summaryReply(r -> new TenantEntity.CreateService("payments", "c", r));
    assertReason(
        ErrorReason.SERVICE_ALREADY_EXISTS,
        summaryReply(r -> new TenantEntity.CreateService("payments", "c", r)));
    assertReason(ErrorReason.INVALID_ARGUMENT, wrapReply(List.of()));
    assertReason(
        ErrorReason.INVALID_ARGUMENT, wrapReply(List.of(new WrapItem(new byte[65], Map.of()))));
    for (int weak : new int[] {1, 8, 20, 31, 64}) {
      assertReason(
          ErrorReason.INVALID_ARGUMENT, wrapReply(List.of(new WrapItem(new byte[weak], Map.of()))));
    }
    for (int aes : new int[] {16, 24, 32}) {
      assertTrue(
          wrapReply(List.of(new WrapItem(new byte[aes], Map.of()))).isSuccess(),
          "AES key of " + aes);
    }
    assertReason(
        ErrorReason.INVALID_CONTEXT,
        wrapReply(List.of(new WrapItem(new byte[32], Map.of("", "x")))));
  }

  @Test
  void blobsWrittenBeforeMasterKeySealingAreRefusedUntilMigrateSealSealsThem() throws Exception {
    // a tenant as an old data directory holds it: L1-wrapped L2 and L2-wrapped L3, neither
    // master-sealed
    KeyMaterial l2 = KeyMaterial.random(32, RANDOM);
    KeyMaterial l3 = KeyMaterial.random(32, RANDOM);
    Map<String, String> ctx =
        Map.of(
            "openkcm:tenant", "acme", "openkcm:l2-version", "1", "openkcm:correlation-id", "old");
    byte[] rawL2 =
        dev.wrap(org.openkcm.core.keystore.L1Reference.parse("devfile:acme-root"), l2, ctx, "old")
            .toCompletableFuture()
            .join();
    byte[] rawL3 =
        KeyWrap.wrap(
            l2, l3, org.openkcm.core.tenant.KeyChain.l3Aad("acme", "payments", 1, 1), RANDOM);
    java.time.Instant then = java.time.Instant.parse("2026-11-01T00:00:00Z");
    tenant.initialize(
        new TenantOnboarded("acme", "devfile:acme-root", 1, rawL2, ctx, then, "old"),
        new ServiceCreated("payments", 1, 1, rawL3, then, "old", false));
    StatusReply<Wrapped> refused = wrapReply(List.of(new WrapItem(new byte[32], Map.of())));
    assertReason(ErrorReason.INTERNAL, refused);
    assertTrue(
        refused.getError().getMessage().contains("not sealed with a master key"),
        refused.getError().getMessage());

    CommandResultWithReply<Command, Event, TenantState, StatusReply<Integer>> migrated =
        tenant.runCommand(r -> new TenantEntity.MigrateSeal("m", r));
    assertEquals(2, migrated.reply().getValue(), "L2 and one L3 sealed");
    TenantEntity.BlobsResealed event = migrated.eventOfType(TenantEntity.BlobsResealed.class);
    assertTrue(MasterKey.isSealedBlob(event.wrappedL2()));
    assertTrue(MasterKey.isSealedBlob(event.l3Versions().get("payments").get(0).blob()));
    assertSecretAbsent(event, l2.revealBytes());
    assertSecretAbsent(event, l3.revealBytes());

    tenant.restart();
    byte[] env = wrapOne(Map.of("row", "1"));
    assertTrue(
        tenant
            .<StatusReply<Unwrapped>>runCommand(
                r ->
                    new TenantEntity.UnwrapKeys(
                        List.of(new UnwrapItem(env, Map.of("row", "1"))), "c", r))
            .reply()
            .getValue()
            .outcomes()
            .get(0)
            .isOk());
    assertEquals(
        0,
        tenant
            .<StatusReply<Integer>>runCommand(r -> new TenantEntity.MigrateSeal("m2", r))
            .reply()
            .getValue(),
        "nothing left to seal");
  }

  @Test
  void onboardingIsRefusedUnderARegionOrGlobalKillSwitch() {
    KillRecord global = new KillRecord(KillScope.GLOBAL, "breach", "so", java.time.Instant.now());
    EventSourcedBehaviorTestKit<Command, Event, TenantState> fresh =
        EventSourcedBehaviorTestKit.create(
            testKit.system(),
            TenantEntity.create(
                "newcomer",
                new TenantDependencies(
                    keystore,
                    RANDOM,
                    Clock.systemUTC(),
                    TenantSettings.forTests(1000),
                    () -> Optional.of(global),
                    master)));
    CommandResultWithReply<Command, Event, TenantState, StatusReply<TenantSummary>> r =
        fresh.runCommand(c -> new TenantEntity.Onboard("devfile:newcomer-root", "c", c));
    assertReason(ErrorReason.TENANT_KILLED, r.reply());
    assertTrue(r.events().isEmpty(), "nothing persisted");
    assertTrue(
        r.reply().getError().getMessage().contains("onboarding refused"),
        r.reply().getError().getMessage());
  }

  @Test
  void aBatchLargerThanTheLimitIsRefused() {
    onboardWithService();
    List<WrapItem> tooMany = new ArrayList<>();
    for (int i = 0; i <= 1000; i++) {
      tooMany.add(new WrapItem(new byte[32], Map.of()));
    }
    StatusReply<Wrapped> r = wrapReply(tooMany);
    assertReason(ErrorReason.INVALID_ARGUMENT, r);
    assertTrue(r.getError().getMessage().contains("at most 1000"));
  }

  @Test
  void onboardingValidatesTheL1AndPersistsNothingWhenItCannotBeUsed() throws Exception {
    DevFileKeystore strict =
        new DevFileKeystore(Files.createTempDirectory("openkcm-strict"), false, blocking);
    keystore = new RecordingKeystore(new L1Keystores(List.of(strict)));
    EventSourcedBehaviorTestKit<Command, Event, TenantState> t =
        EventSourcedBehaviorTestKit.create(testKit.system(), TenantEntity.create("strict", deps()));

    CommandResultWithReply<Command, Event, TenantState, StatusReply<TenantSummary>> missing =
        t.runCommand(r -> new TenantEntity.Onboard("devfile:absent", "c", r));
    assertReason(ErrorReason.L1_REJECTED, missing.reply());
    assertTrue(
        missing.reply().getError().getMessage().contains("key not found"),
        missing.reply().getError().getMessage());
    assertTrue(missing.hasNoEvents());

    strict.createKey("off");
    strict.setEnabled("off", false);
    CommandResultWithReply<Command, Event, TenantState, StatusReply<TenantSummary>> disabled =
        t.runCommand(r -> new TenantEntity.Onboard("devfile:off", "c", r));
    assertTrue(disabled.reply().getError().getMessage().contains("key disabled"));
    assertTrue(disabled.hasNoEvents());
    assertInstanceOf(TenantState.Unregistered.class, disabled.state());
  }

  @Test
  void checkL1DetectsARevocationWipesTheKeysAndRecordsIt() {
    onboardWithService();
    byte[] env = wrapOne(Map.of());
    dev.setEnabled("acme-root", false);

    CommandResultWithReply<Command, Event, TenantState, StatusReply<TenantSummary>> check =
        tenant.runCommand(r -> new TenantEntity.CheckL1("ops-1", r));
    TenantSummary after = check.reply().getValue();
    assertEquals(TenantStatus.L1_REVOKED, after.status());
    assertFalse(after.unsealed(), "keys wiped at once");
    assertEquals("L1_REVOKED", check.eventOfType(TenantEntity.L1Revoked.class).reason());

    StatusReply<Unwrapped> refused =
        tenant
            .<StatusReply<Unwrapped>>runCommand(
                r -> new TenantEntity.UnwrapKeys(List.of(new UnwrapItem(env, Map.of())), "c", r))
            .reply();
    assertReason(ErrorReason.L1_REVOKED, refused);

    tenant.restart(); // a freshly started Core refuses too
    assertEquals(TenantStatus.L1_REVOKED, summary().status());
    assertReason(
        ErrorReason.L1_REVOKED,
        tenant
            .<StatusReply<Unwrapped>>runCommand(
                r -> new TenantEntity.UnwrapKeys(List.of(new UnwrapItem(env, Map.of())), "c", r))
            .reply());

    dev.setEnabled("acme-root", true);
    CommandResultWithReply<Command, Event, TenantState, StatusReply<Unwrapped>> back =
        tenant.runCommand(
            r -> new TenantEntity.UnwrapKeys(List.of(new UnwrapItem(env, Map.of())), "c", r));
    assertTrue(back.reply().getValue().outcomes().get(0).isOk(), "old envelopes open again");
    back.eventOfType(TenantEntity.L1Restored.class);
    assertEquals(TenantStatus.ACTIVE, summary().status());
  }

  @Test
  void aKeystoreOutageWithinTheGraceKeepsTheKeysAndIsNotARevocation() {
    onboardWithService();
    byte[] env = wrapOne(Map.of());
    keystore.failUnwraps(
        new org.openkcm.core.keystore.L1KeystoreException(
            org.openkcm.core.keystore.L1KeystoreException.Kind.UNAVAILABLE, "connection refused"));
    CommandResultWithReply<Command, Event, TenantState, StatusReply<TenantSummary>> check =
        tenant.runCommand(r -> new TenantEntity.CheckL1("ops", r));
    assertReason(ErrorReason.L1_UNAVAILABLE, check.reply());
    assertTrue(check.hasNoEvents(), "an outage is not recorded as a revocation");
    assertTrue(summary().unsealed(), "keys kept within the grace period");
    assertTrue(
        tenant
            .<StatusReply<Unwrapped>>runCommand(
                r -> new TenantEntity.UnwrapKeys(List.of(new UnwrapItem(env, Map.of())), "c", r))
            .reply()
            .getValue()
            .outcomes()
            .get(0)
            .isOk());

    tenant.restart(); // a fresh Core cannot unseal during the outage: unavailable, not revoked
    assertReason(
        ErrorReason.L1_UNAVAILABLE,
        tenant
            .<StatusReply<Unwrapped>>runCommand(
                r -> new TenantEntity.UnwrapKeys(List.of(new UnwrapItem(env, Map.of())), "c", r))
            .reply());
    assertEquals(TenantStatus.ACTIVE, summary().status());
    keystore.failUnwraps(null);
  }

  private TenantState.PendingL1Link requestLink(String l1, String by) {
    CommandResultWithReply<Command, Event, TenantState, StatusReply<TenantSummary>> r =
        tenant.runCommand(c -> new TenantEntity.RequestL1Link(l1, by, "c-req", c));
    assertTrue(r.reply().isSuccess(), () -> r.reply().toString());
    assertEquals(by, r.eventOfType(TenantEntity.L1LinkRequested.class).requestedBy());
    TenantState.PendingL1Link pending = r.reply().getValue().pendingLink().orElseThrow();
    assertEquals(l1, pending.l1Reference());
    assertEquals("devfile:acme-root", r.reply().getValue().l1Reference(), "nothing moved yet");
    return pending;
  }

  @Test
  void aReLinkNeedsARequestAndAnotherIdentitysApprovalAndAsksTheOldL1First() {
    onboardWithService();
    byte[] env = wrapOne(Map.of());
    TenantState.PendingL1Link pending =
        requestLink("devfile:acme-root-2", "spiffe://openkcm.local/admin/ops");

    StatusReply<TenantSummary> self =
        summaryReply(
            r ->
                new TenantEntity.ApproveL1Link(
                    pending.requestId(), "spiffe://openkcm.local/admin/ops", "c", r));
    assertReason(ErrorReason.PERMISSION_DENIED, self);
    assertTrue(
        self.getError().getMessage().contains("another identity must approve"),
        self.getError().getMessage());
    assertReason(
        ErrorReason.PERMISSION_DENIED,
        summaryReply(r -> new TenantEntity.ApproveL1Link(pending.requestId(), "", "c", r)));
    assertReason(
        ErrorReason.INVALID_ARGUMENT,
        summaryReply(
            r ->
                new TenantEntity.ApproveL1Link(
                    "rl-other", "spiffe://openkcm.local/admin/alice", "c", r)));
    assertEquals("devfile:acme-root", summary().l1Reference());

    int calls = keystore.unwrapCalls();
    CommandResultWithReply<Command, Event, TenantState, StatusReply<TenantSummary>> approved =
        tenant.runCommand(
            r ->
                new TenantEntity.ApproveL1Link(
                    pending.requestId(), "spiffe://openkcm.local/admin/alice", "c-ok", r));
    assertEquals("devfile:acme-root-2", approved.reply().getValue().l1Reference());
    assertTrue(approved.reply().getValue().pendingLink().isEmpty());
    assertTrue(
        keystore.unwrapCalls() >= calls + 2,
        "the old L1 and the new one's round trip were both asked");
    TenantEntity.L1Linked event = approved.eventOfType(TenantEntity.L1Linked.class);
    assertEquals("spiffe://openkcm.local/admin/ops", event.requestedBy());
    assertEquals("spiffe://openkcm.local/admin/alice", event.approvedBy());
    assertSecretAbsent(event, keystore.lastWrapped().revealBytes());

    tenant.restart();
    dev.setEnabled("acme-root", false); // the old L1 no longer matters
    UnwrapOutcome o =
        tenant
            .<StatusReply<Unwrapped>>runCommand(
                r -> new TenantEntity.UnwrapKeys(List.of(new UnwrapItem(env, Map.of())), "c", r))
            .reply()
            .getValue()
            .outcomes()
            .get(0);
    assertTrue(o.isOk());
  }

  @Test
  void aLinkOutsideTheKeyDomainPinnedAtOnboardingIsRefused() {
    onboardWithService();
    for (String foreign :
        List.of(
            "nokms:x",
            "aws-kms:arn:aws:kms:eu-west-1:111122223333:key/k1",
            "pkcs11:token=platform-hsm;object=k")) {
      StatusReply<TenantSummary> r =
          summaryReply(c -> new TenantEntity.RequestL1Link(foreign, "ops", "c", c));
      assertReason(ErrorReason.L1_REJECTED, r);
      assertTrue(
          r.getError().getMessage().contains("outside the key domain devfile pinned at onboarding"),
          r.getError().getMessage());
    }
    assertTrue(summary().pendingLink().isEmpty());
    assertReason(
        ErrorReason.INVALID_ARGUMENT,
        summaryReply(c -> new TenantEntity.RequestL1Link("devfile:acme-root", "ops", "c", c)));
  }

  @Test
  void keyDomainsAreTheAccountAndRegionOrTheToken() {
    var aws =
        org.openkcm.core.keystore.L1Reference.parse(
            "aws-kms:arn:aws:kms:eu-west-1:111122223333:key/k1");
    assertEquals("aws-kms:aws:111122223333:eu-west-1", aws.keyDomain());
    assertEquals(
        aws.keyDomain(),
        org.openkcm.core.keystore.L1Reference.parse(
                "aws-kms:arn:aws:kms:eu-west-1:111122223333:alias/other")
            .keyDomain());
    assertFalse(
        aws.keyDomain()
            .equals(
                org.openkcm.core.keystore.L1Reference.parse(
                        "aws-kms:arn:aws:kms:eu-west-1:444455556666:key/k1")
                    .keyDomain()),
        "another account");
    assertFalse(
        aws.keyDomain()
            .equals(
                org.openkcm.core.keystore.L1Reference.parse(
                        "aws-kms:arn:aws:kms:us-east-1:111122223333:key/k1")
                    .keyDomain()),
        "another region");
    assertEquals(
        "pkcs11:token=acme-hsm",
        org.openkcm.core.keystore.L1Reference.parse("pkcs11:token=acme-hsm;object=root-2")
            .keyDomain());
  }

  @Test
  void aReLinkIsRefusedWhileTheTenantIsKilledOrItsL1Revoked() {
    onboardWithService();
    TenantState.PendingL1Link pending = requestLink("devfile:acme-root-2", "ops");
    assertTrue(summaryReply(r -> new TenantEntity.Kill("breach", "so", "k", r)).isSuccess());
    assertReason(
        ErrorReason.TENANT_KILLED,
        summaryReply(r -> new TenantEntity.ApproveL1Link(pending.requestId(), "alice", "c", r)));
    assertReason(
        ErrorReason.TENANT_KILLED,
        summaryReply(r -> new TenantEntity.RequestL1Link("devfile:acme-root-3", "ops", "c", r)));
    assertEquals("devfile:acme-root", summary().l1Reference());

    assertTrue(summaryReply(r -> new TenantEntity.Revive("so", "r", r)).isSuccess());
    dev.setEnabled("acme-root", false);
    summaryReply(r -> new TenantEntity.CheckL1("c", r));
    assertEquals(TenantStatus.L1_REVOKED, summary().status());
    assertReason(
        ErrorReason.L1_REVOKED,
        summaryReply(r -> new TenantEntity.RequestL1Link("devfile:acme-root-3", "ops", "c", r)));
    StatusReply<TenantSummary> approve =
        summaryReply(r -> new TenantEntity.ApproveL1Link(pending.requestId(), "alice", "c", r));
    assertReason(ErrorReason.L1_REVOKED, approve);
    assertEquals(
        "devfile:acme-root", summary().l1Reference(), "the customer's revocation still holds");
    assertTrue(summary().pendingLink().isEmpty(), "the refused request is closed");
  }

  @Test
  void anApprovalFailsWhenTheCurrentL1DoesNotAnswer() {
    onboardWithService();
    TenantState.PendingL1Link pending = requestLink("devfile:acme-root-2", "ops");
    keystore.failUnwraps(
        new org.openkcm.core.keystore.L1KeystoreException(
            org.openkcm.core.keystore.L1KeystoreException.Kind.UNAVAILABLE, "keystore down"));
    CommandResultWithReply<Command, Event, TenantState, StatusReply<TenantSummary>> r =
        tenant.runCommand(
            c -> new TenantEntity.ApproveL1Link(pending.requestId(), "alice", "c", c));
    keystore.failUnwraps(null);
    assertReason(ErrorReason.L1_UNAVAILABLE, r.reply());
    assertTrue(
        r.reply().getError().getMessage().contains("the current L1 must answer before a re-link"),
        r.reply().getError().getMessage());
    assertEquals("L1_UNAVAILABLE", r.eventOfType(TenantEntity.L1LinkClosed.class).outcome());
    assertEquals("devfile:acme-root", summary().l1Reference());
    assertTrue(summary().pendingLink().isEmpty());
  }

  @Test
  void killRefusesEveryUseSurvivesRestartAndReviveUnsealsFromL1() {
    onboardWithService();
    byte[] env = wrapOne(Map.of());
    CommandResultWithReply<Command, Event, TenantState, StatusReply<TenantSummary>> kill =
        tenant.runCommand(r -> new TenantEntity.Kill("breach suspected", "alice", "cid-k", r));
    assertEquals(TenantStatus.KILLED, kill.reply().getValue().status());
    assertFalse(kill.reply().getValue().unsealed(), "keys wiped");
    assertEquals("alice", kill.eventOfType(TenantEntity.TenantKilled.class).by());

    StatusReply<Wrapped> wrap = wrapReply(List.of(new WrapItem(new byte[32], Map.of())));
    assertReason(ErrorReason.TENANT_KILLED, wrap);
    String msg = wrap.getError().getMessage();
    assertTrue(
        msg.contains("tenant acme is killed since")
            && msg.contains("breach suspected")
            && msg.contains("alice"),
        msg);
    tenant.restart();
    assertReason(
        ErrorReason.TENANT_KILLED,
        tenant
            .<StatusReply<Unwrapped>>runCommand(
                r -> new TenantEntity.UnwrapKeys(List.of(new UnwrapItem(env, Map.of())), "c", r))
            .reply());

    CommandResultWithReply<Command, Event, TenantState, StatusReply<TenantSummary>> revive =
        tenant.runCommand(r -> new TenantEntity.Revive("bob", "cid-r", r));
    assertEquals(TenantStatus.ACTIVE, revive.reply().getValue().status());
    revive.eventOfType(TenantEntity.TenantRevived.class);
    assertTrue(
        tenant
            .<StatusReply<Unwrapped>>runCommand(
                r -> new TenantEntity.UnwrapKeys(List.of(new UnwrapItem(env, Map.of())), "c", r))
            .reply()
            .getValue()
            .outcomes()
            .get(0)
            .isOk());
  }

  @Test
  void reviveIsImpossibleOnceTheCustomerRevokedL1() {
    onboardWithService();
    summaryReply(r -> new TenantEntity.Kill("offboarding", "alice", "c", r));
    dev.setEnabled("acme-root", false);
    CommandResultWithReply<Command, Event, TenantState, StatusReply<TenantSummary>> revive =
        tenant.runCommand(r -> new TenantEntity.Revive("bob", "c", r));
    assertReason(ErrorReason.L1_REVOKED, revive.reply());
    assertTrue(revive.hasNoEvents());
    assertEquals(TenantStatus.KILLED, summary().status());
  }

  @Test
  void aGlobalKillSwitchRefusesAndItsPoisonMessageWipes() {
    java.util.concurrent.atomic.AtomicReference<java.util.Optional<KillRecord>> global =
        new java.util.concurrent.atomic.AtomicReference<>(java.util.Optional.empty());
    EventSourcedBehaviorTestKit<Command, Event, TenantState> t =
        EventSourcedBehaviorTestKit.create(
            testKit.system(),
            TenantEntity.create(
                "acme",
                new TenantDependencies(
                    keystore,
                    RANDOM,
                    Clock.systemUTC(),
                    TenantSettings.forTests(1000),
                    global::get)));
    t.<StatusReply<TenantSummary>>runCommand(
        r -> new TenantEntity.Onboard("devfile:acme-root", "c", r));
    t.<StatusReply<TenantSummary>>runCommand(
        r -> new TenantEntity.CreateService("payments", "c", r));
    assertTrue(
        t.<StatusReply<TenantSummary>>runCommand(TenantEntity.GetSummary::new)
            .reply()
            .getValue()
            .unsealed());

    global.set(
        java.util.Optional.of(
            new KillRecord(KillScope.GLOBAL, "incident 42", "ciso", java.time.Instant.now())));
    t.runCommand(new TenantEntity.WipeKeys("global"));
    TenantSummary s =
        t.<StatusReply<TenantSummary>>runCommand(TenantEntity.GetSummary::new).reply().getValue();
    assertEquals(TenantStatus.KILLED, s.status());
    assertFalse(s.unsealed(), "the poison message wiped the keys");
    StatusReply<Wrapped> refused =
        t.<StatusReply<Wrapped>>runCommand(
                r ->
                    new TenantEntity.WrapKeys(
                        "payments", List.of(new WrapItem(new byte[32], Map.of())), "c", r))
            .reply();
    assertReason(ErrorReason.TENANT_KILLED, refused);
    assertTrue(refused.getError().getMessage().contains("global kill-switch"));
    assertReason(
        ErrorReason.TENANT_KILLED,
        t.<StatusReply<TenantSummary>>runCommand(r -> new TenantEntity.Revive("bob", "c", r))
            .reply());

    global.set(java.util.Optional.empty());
    assertTrue(
        t.<StatusReply<Wrapped>>runCommand(
                r ->
                    new TenantEntity.WrapKeys(
                        "payments", List.of(new WrapItem(new byte[32], Map.of())), "c", r))
            .reply()
            .isSuccess(),
        "released: unseals again");
  }

  @Test
  void beforeTheKillSwitchStateIsKnownTheTenantFailsClosedButRetryably() {
    KillRecord unknown =
        new KillRecord(
            KillScope.UNCONFIRMED,
            "this Core node has not loaded the kill-switch state yet; retry",
            "system",
            java.time.Instant.EPOCH);
    java.util.concurrent.atomic.AtomicReference<Optional<KillRecord>> view =
        new java.util.concurrent.atomic.AtomicReference<>(Optional.of(unknown));
    EventSourcedBehaviorTestKit<Command, Event, TenantState> t =
        EventSourcedBehaviorTestKit.create(
            testKit.system(),
            TenantEntity.create(
                "acme",
                new TenantDependencies(
                    keystore,
                    RANDOM,
                    Clock.systemUTC(),
                    TenantSettings.forTests(1000),
                    view::get,
                    master)));
    // even onboarding waits until this node knows whether a kill-switch is in force
    assertReason(
        ErrorReason.CORE_UNAVAILABLE,
        t.<StatusReply<TenantSummary>>runCommand(
                r -> new TenantEntity.Onboard("devfile:acme-root", "c", r))
            .reply());
    view.set(Optional.empty());
    assertTrue(
        t.<StatusReply<TenantSummary>>runCommand(
                r -> new TenantEntity.Onboard("devfile:acme-root", "c", r))
            .reply()
            .isSuccess());
    assertTrue(
        t.<StatusReply<TenantSummary>>runCommand(
                r -> new TenantEntity.CreateService("payments", "c", r))
            .reply()
            .isSuccess());
    // a tenant that exists fails closed, retryably, while the state is unknown
    view.set(Optional.of(unknown));
    StatusReply<Wrapped> r =
        t.<StatusReply<Wrapped>>runCommand(
                rr ->
                    new TenantEntity.WrapKeys(
                        "payments", List.of(new WrapItem(new byte[32], Map.of())), "c", rr))
            .reply();
    assertReason(ErrorReason.CORE_UNAVAILABLE, r);
  }

  // ------------------------------------------------------------------ helpers

  private void onboard() {
    assertTrue(
        tenant
            .<StatusReply<TenantSummary>>runCommand(
                replyTo -> new TenantEntity.Onboard("devfile:acme-root", "c", replyTo))
            .reply()
            .isSuccess());
  }

  private void onboardWithService() {
    onboard();
    assertTrue(
        tenant
            .<StatusReply<TenantSummary>>runCommand(
                replyTo -> new TenantEntity.CreateService("payments", "c", replyTo))
            .reply()
            .isSuccess());
  }

  private byte[] wrapOne(Map<String, String> ctx) {
    byte[] dek = new byte[32];
    RANDOM.nextBytes(dek);
    return tenant
        .<StatusReply<Wrapped>>runCommand(
            replyTo ->
                new TenantEntity.WrapKeys(
                    "payments", List.of(new WrapItem(dek, ctx)), "c", replyTo))
        .reply()
        .getValue()
        .envelopes()
        .get(0);
  }

  private StatusReply<TenantSummary> summaryReply(
      Function<ActorRef<StatusReply<TenantSummary>>, Command> f) {
    return tenant.<StatusReply<TenantSummary>>runCommand(f).reply();
  }

  private StatusReply<Wrapped> wrapReply(List<WrapItem> items) {
    return tenant
        .<StatusReply<Wrapped>>runCommand(r -> new TenantEntity.WrapKeys("payments", items, "c", r))
        .reply();
  }

  private TenantSummary summary() {
    return tenant
        .<StatusReply<TenantSummary>>runCommand(TenantEntity.GetSummary::new)
        .reply()
        .getValue();
  }

  private static void assertReason(ErrorReason expected, StatusReply<?> reply) {
    assertTrue(reply.isError(), () -> "expected " + expected + " but got " + reply);
    assertEquals(
        expected,
        org.openkcm.core.reply.Rejections.parse(reply.getError()).reason(),
        reply.getError().getMessage());
  }

  /**
   * Serializes {@code persisted} exactly as the journal would and searches for the secret in every
   * form.
   */
  private static void assertSecretAbsent(Object persisted, byte[] secret) {
    Serialization serialization = SerializationExtension.get(testKit.system());
    byte[] bytes = serialization.serialize(persisted).get();
    assertInstanceOf(
        org.apache.pekko.serialization.jackson.JacksonCborSerializer.class,
        serialization.findSerializerFor(persisted));
    assertFalse(contains(bytes, secret), "raw key bytes found in persisted form");
    String text = new String(bytes, StandardCharsets.ISO_8859_1);
    assertFalse(
        text.contains(Base64.getEncoder().encodeToString(secret)), "base64 of the key found");
    assertFalse(
        text.toLowerCase().contains(HexFormat.of().formatHex(secret)), "hex of the key found");
  }

  private static boolean contains(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
