package org.openkcm.core.tenant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.List;
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
 * lifecycle writes answered NOT_HOME_REGION; the blob sealed with this region's master key.
 */
class ReplicaApplyTest {

  private static final ActorTestKit testKit = ActorTestKit.create(TenantEntityTest.CONFIG);
  private static final ExecutorService blocking = Executors.newCachedThreadPool();

  @AfterAll
  static void tearDown() {
    testKit.shutdownTestKit();
    blocking.shutdownNow();
  }

  @Test
  void eventsFromAnotherRegionApplyOnceAndTheReplicaRefusesHomeWrites() throws Exception {
    SecureRandom random = new SecureRandom();
    MasterKey home = MasterKey.unsealedWith(KeyMaterial.random(32, random));
    MasterKey here = MasterKey.unsealedWith(KeyMaterial.random(32, random));
    EventSourcedBehaviorTestKit<Command, Event, TenantState> replica =
        EventSourcedBehaviorTestKit.create(
            testKit.system(),
            TenantEntity.create(
                "acme",
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
    byte[] l1Wrapped = new byte[48];
    random.nextBytes(l1Wrapped);
    // what the home region persisted, and its portable form on the wire
    TenantEntity.TenantOnboarded atHome =
        new TenantEntity.TenantOnboarded(
            "acme",
            "devfile:acme-root",
            1,
            home.seal(l1Wrapped, KeyChain.l2Purpose("acme")),
            java.util.Map.of("openkcm:tenant", "acme"),
            java.time.Instant.now(),
            "c");
    Event portable = TenantReplication.portable("acme", atHome, home).orElseThrow();
    for (int i = 0; i < 2; i++) { // sent twice: applied once
      boolean applied =
          replica
              .<StatusReply<Boolean>>runCommand(
                  r -> new TenantEntity.ApplyReplicated("eu", 7, portable, r))
              .reply()
              .getValue();
      assertEquals(i == 0, applied);
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
    boolean appliedRevive =
        replica
            .<StatusReply<Boolean>>runCommand(
                r ->
                    new TenantEntity.ApplyReplicated(
                        "eu",
                        9,
                        new TenantEntity.TenantRevived(
                            "home-officer", java.time.Instant.now(), "c", "eu-node/older-kill"),
                        r))
            .reply()
            .getValue();
    assertTrue(appliedRevive, "applied (recorded) ...");
    assertTrue(
        ((TenantState.Registered) replica.getState()).killed().isPresent(),
        "... but it lifts nothing: the kill pulled here concurrently wins");
    // a revive naming the kill in force lifts it
    String current = ((TenantState.Registered) replica.getState()).killId();
    replica.runCommand(
        (org.apache.pekko.actor.typed.ActorRef<StatusReply<Boolean>> r) ->
            new TenantEntity.ApplyReplicated(
                "eu",
                10,
                new TenantEntity.TenantRevived(
                    "home-officer", java.time.Instant.now(), "c", current),
                r));
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
}
