package org.openkcm.core.killswitch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Clock;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The region/global kill-switch with named engagements: a release lifts only the engagements it
 * names, in whatever order engagements and releases arrive; an operator's release here lifts every
 * engagement in force; the state survives a restart.
 */
class KillSwitchEntityTest {

  private static final ActorTestKit testKit =
      ActorTestKit.create(
          EventSourcedBehaviorTestKit.config()
              .withFallback(ConfigFactory.parseResources("core/serialization.conf"))
              .withFallback(
                  ConfigFactory.parseString(
                      "pekko.actor.provider = local\nopenkcm.core.region = eu")));

  @AfterAll
  static void tearDown() {
    testKit.shutdownTestKit();
  }

  private static EventSourcedBehaviorTestKit<
          KillSwitchEntity.Command, KillSwitchEntity.Event, KillSwitchEntity.State>
      kit() {
    return EventSourcedBehaviorTestKit.create(
        testKit.system(),
        KillSwitchEntity.create(
            testKit.<Topic.Command<KillSwitchEntity.Changed>>createTestProbe().ref(),
            Clock.systemUTC()));
  }

  private static final KillScope GLOBAL = KillScope.parseClusterWide("global");

  private static KillSwitchEntity.State engage(
      EventSourcedBehaviorTestKit<
              KillSwitchEntity.Command, KillSwitchEntity.Event, KillSwitchEntity.State>
          kit,
      String id) {
    StatusReply<KillSwitchEntity.State> r =
        kit.<StatusReply<KillSwitchEntity.State>>runCommand(
                to -> new KillSwitchEntity.Engage(GLOBAL, "breach", "ops", id, to))
            .reply();
    return r.getValue();
  }

  private static KillSwitchEntity.State release(
      EventSourcedBehaviorTestKit<
              KillSwitchEntity.Command, KillSwitchEntity.Event, KillSwitchEntity.State>
          kit,
      List<String> ids) {
    return kit.<StatusReply<KillSwitchEntity.State>>runCommand(
            to -> new KillSwitchEntity.Release(GLOBAL, "ops", ids, to))
        .reply()
        .getValue();
  }

  @Test
  void aReleaseLiftsOnlyTheEngagementsItNamesWhateverTheOrder() {
    var kit = kit();
    KillSwitchEntity.State s = engage(kit, ""); // an operator here: a new engagement of eu
    String mine = s.idsOf("global").get(0);
    assertTrue(mine.startsWith("eu/"), mine);
    engage(kit, "us/1"); // the same scope pulled in us meanwhile
    s = release(kit, List.of("us/1")); // us lifts its own
    assertTrue(s.engaged().containsKey("global"), "eu's engagement still holds");
    assertEquals(List.of(mine), s.idsOf("global"));
    // a release that arrives before its engagement: the engagement never takes effect
    s = release(kit, List.of("ap/7"));
    s = engage(kit, "ap/7");
    assertEquals(List.of(mine), s.idsOf("global"));
    // an engagement resent (a duplicate) changes nothing
    assertTrue(
        kit.<StatusReply<KillSwitchEntity.State>>runCommand(
                to -> new KillSwitchEntity.Engage(GLOBAL, "x", "y", mine, to))
            .events()
            .isEmpty());
    s = release(kit, List.of(mine));
    assertFalse(s.engaged().containsKey("global"));
    kit.restart();
    assertFalse(kit.getState().engaged().containsKey("global"), "after recovery too");
    assertTrue(kit.getState().released().contains("ap/7"));
  }

  @Test
  void anOperatorsEngagementHoldsWhenAnotherEngagementOfTheScopeIsReleased() {
    var kit = kit();
    engage(kit, "us/9"); // pulled in us first
    KillSwitchEntity.State s = engage(kit, ""); // then an operator here pulls it too
    assertEquals(2, s.idsOf("global").size(), s.toString());
    s = release(kit, List.of("us/9")); // us lifts its own
    assertTrue(s.engaged().containsKey("global"), "this region's operator's engagement holds");
  }

  @Test
  void anOperatorsReleaseHereLiftsEveryEngagementInForce() {
    var kit = kit();
    engage(kit, "us/2");
    engage(kit, "ap/3");
    KillSwitchEntity.State s = release(kit, List.of());
    assertFalse(s.engaged().containsKey("global"));
    // and a late resend of one of them stays lifted
    s = engage(kit, "us/2");
    assertFalse(s.engaged().containsKey("global"));
  }

  @Test
  void anEngagementWrittenBeforeIdsIsLiftedByTheOperatorsRelease() {
    var kit = kit();
    kit.persistenceTestKit()
        .persistForRecovery(
            "KillSwitch|cluster",
            List.of(
                new KillSwitchEntity.Engaged(
                    "global", "old", "ops", java.time.Instant.now(), null)));
    kit.restart();
    assertTrue(kit.getState().engaged().containsKey("global"));
    assertFalse(release(kit, List.of()).engaged().containsKey("global"));
  }
}
