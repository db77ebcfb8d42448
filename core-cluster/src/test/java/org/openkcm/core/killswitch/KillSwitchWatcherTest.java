package org.openkcm.core.killswitch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * A Core node whose kill-switch topic message never arrives still learns of a global kill from its
 * periodic re-read of the singleton, within one refresh interval.
 */
class KillSwitchWatcherTest {

  private static final ActorTestKit testKit =
      ActorTestKit.create(
          ConfigFactory.parseString(
              """
      pekko.actor.provider = cluster
      pekko.remote.artery.canonical.port = 0
      pekko.remote.artery.canonical.hostname = 127.0.0.1
      """));

  @AfterAll
  static void tearDown() {
    testKit.shutdownTestKit();
  }

  @Test
  void aKillSwitchWhoseTopicMessageWasLostIsInForceAfterTheNextReRead() {
    AtomicReference<KillSwitchEntity.State> singletonState =
        new AtomicReference<>(new KillSwitchEntity.State(Map.of()));
    ActorRef<KillSwitchEntity.Command> singleton =
        testKit.spawn(
            Behaviors.receiveMessage(
                m -> {
                  if (m instanceof KillSwitchEntity.Get g) {
                    g.replyTo().tell(StatusReply.success(singletonState.get()));
                  }
                  return Behaviors.same();
                }));
    // a topic that delivers nothing: every change message is lost
    TestProbe<Topic.Command<KillSwitchEntity.Changed>> deafTopic = testKit.createTestProbe();
    java.util.List<String> wipes = new java.util.concurrent.CopyOnWriteArrayList<>();
    KillSwitchWatcher watcher = new KillSwitchWatcher("eu", wipes::add);
    testKit.spawn(
        watcher.behavior(
            deafTopic.getRef(), singleton, Duration.ofSeconds(3), Duration.ofMillis(200)));
    deafTopic.awaitAssert(
        () -> {
          assertTrue(watcher.loaded().isDone());
          assertTrue(watcher.engaged().isEmpty(), "nothing in force");
          assertTrue(wipes.isEmpty(), "nothing wiped");
          return null;
        });

    singletonState.set(
        new KillSwitchEntity.State(
            Map.of(
                "global",
                new KillRecord(
                    KillScope.GLOBAL,
                    "breach",
                    "spiffe://openkcm.local/admin/so",
                    Instant.now()))));
    deafTopic.awaitAssert(
        Duration.ofSeconds(5),
        () -> {
          assertEquals(
              KillScope.GLOBAL,
              watcher.engaged().orElseThrow().scope(),
              "in force without the topic message");
          assertEquals(
              java.util.List.of("global kill-switch"), wipes, "every local tenant wiped, once");
          return null;
        });
  }
}
