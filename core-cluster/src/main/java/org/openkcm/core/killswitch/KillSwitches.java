package org.openkcm.core.killswitch;

import java.time.Clock;
import java.time.Duration;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.SingletonActor;

/**
 * The region/global kill-switch of one Core node: the cluster singleton that persists it, the topic
 * that pushes its changes, and this node's watcher (its view, re-read every {@code refresh}).
 */
public record KillSwitches(
    ActorRef<Topic.Command<KillSwitchEntity.Changed>> topic,
    ActorRef<KillSwitchEntity.Command> singleton,
    KillSwitchWatcher watcher) {

  /** Starts the kill-switch feature on {@code system}. */
  public static KillSwitches init(
      ActorSystem<?> system,
      String region,
      Duration askTimeout,
      Duration refresh,
      Consumer<String> wipeLocalTenants) {
    ActorRef<Topic.Command<KillSwitchEntity.Changed>> topic =
        system.systemActorOf(
            Topic.create(KillSwitchEntity.Changed.class, KillSwitchEntity.TOPIC),
            "kill-switch-topic",
            Props.empty());
    ActorRef<KillSwitchEntity.Command> singleton =
        ClusterSingleton.get(system)
            .init(
                SingletonActor.of(
                    KillSwitchEntity.create(topic, Clock.systemUTC()), "kill-switch"));
    KillSwitchWatcher watcher = new KillSwitchWatcher(region, wipeLocalTenants);
    system.systemActorOf(
        watcher.behavior(topic, singleton, askTimeout, refresh),
        "kill-switch-watcher",
        Props.empty());
    KillSwitches switches = new KillSwitches(topic, singleton, watcher);
    NodeKillSwitches.get(system).set(switches);
    return switches;
  }
}
