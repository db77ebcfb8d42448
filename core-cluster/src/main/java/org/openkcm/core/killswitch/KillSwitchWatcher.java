package org.openkcm.core.killswitch;

import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.pattern.StatusReply;
import org.openkcm.node.metrics.NodeMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One per Core node: keeps this node's view of the region/global kill-switch (loaded from the
 * singleton at start, then pushed through the topic), and on a new kill delivers the poison message
 * wipe to every tenant entity living on this node.
 */
public final class KillSwitchWatcher implements KillSwitchView {

  private static final Logger log = LoggerFactory.getLogger(KillSwitchWatcher.class);

  public sealed interface Command {}

  private record Update(KillSwitchEntity.State state) implements Command {}

  private record LoadFailed() implements Command {}

  private record Load() implements Command {}

  private final String region;
  private final Consumer<String> wipeLocalTenants;
  private final AtomicReference<Optional<Map<String, KillRecord>>> engaged =
      new AtomicReference<>(Optional.empty());
  private final CompletableFuture<Void> loaded = new CompletableFuture<>();

  /**
   * @param wipeLocalTenants wipes the keys of every tenant on this node, saying why (a kill-switch
   *     came into force)
   */
  public KillSwitchWatcher(String region, Consumer<String> wipeLocalTenants) {
    this.region = region;
    this.wipeLocalTenants = wipeLocalTenants;
  }

  /** Completes once this node knows the kill-switch state (the Core serves nothing before). */
  public CompletableFuture<Void> loaded() {
    return loaded;
  }

  public String region() {
    return region;
  }

  @Override
  public Optional<KillRecord> engaged() {
    Optional<Map<String, KillRecord>> now = engaged.get();
    if (now.isEmpty()) {
      // Not loaded yet: fail closed.
      return Optional.of(
          new KillRecord(
              KillScope.UNCONFIRMED,
              "this Core node has not loaded the kill-switch state yet; retry",
              "system",
              java.time.Instant.EPOCH));
    }
    Map<String, KillRecord> m = now.get();
    return Optional.ofNullable(m.get(KillScope.GLOBAL.asString()))
        .or(() -> Optional.ofNullable(m.get(new KillScope.Region(region).asString())));
  }

  /** The watcher actor: subscribe, load, apply. */
  public Behavior<Command> behavior(
      ActorRef<Topic.Command<KillSwitchEntity.Changed>> topic,
      ActorRef<KillSwitchEntity.Command> singleton,
      Duration askTimeout) {
    return behavior(topic, singleton, askTimeout, Duration.ZERO);
  }

  /**
   * The watcher actor: subscribe, load, apply; and with a positive {@code refresh}, ask the
   * singleton again that often, so a change whose topic message this node lost is in force here
   * within one interval.
   */
  public Behavior<Command> behavior(
      ActorRef<Topic.Command<KillSwitchEntity.Changed>> topic,
      ActorRef<KillSwitchEntity.Command> singleton,
      Duration askTimeout,
      Duration refresh) {
    return Behaviors.setup(
        ctx -> {
          ActorRef<KillSwitchEntity.Changed> adapter =
              ctx.messageAdapter(KillSwitchEntity.Changed.class, c -> new Update(c.state()));
          topic.tell(Topic.subscribe(adapter));
          ctx.getSelf().tell(new Load());
          return Behaviors.withTimers(
              timers -> {
                if (!refresh.isZero()) {
                  timers.startTimerWithFixedDelay("refresh", new Load(), refresh);
                }
                return Behaviors.receive(Command.class)
                    .onMessage(
                        Load.class,
                        m -> {
                          ctx.pipeToSelf(
                              AskPattern
                                  .<KillSwitchEntity.Command, StatusReply<KillSwitchEntity.State>>
                                      ask(
                                          singleton,
                                          KillSwitchEntity.Get::new,
                                          askTimeout,
                                          ctx.getSystem().scheduler()),
                              (reply, failure) ->
                                  reply != null && reply.isSuccess()
                                      ? new Update(reply.getValue())
                                      : new LoadFailed());
                          return Behaviors.same();
                        })
                    .onMessage(
                        LoadFailed.class,
                        m -> {
                          if (!loaded.isDone()) {
                            log.info("kill-switch state not available yet; asking again");
                            timers.startSingleTimer(new Load(), Duration.ofMillis(500));
                          }
                          return Behaviors.same();
                        })
                    .onMessage(
                        Update.class,
                        m -> {
                          Optional<KillRecord> before =
                              loaded.isDone() ? engaged() : Optional.empty();
                          engaged.set(Optional.of(Map.copyOf(m.state().engaged())));
                          loaded.complete(null);
                          Optional<KillRecord> after = engaged();
                          if (after.isPresent() != before.isPresent()) {
                            KillRecord changed = after.orElseGet(before::get);
                            NodeMetrics.get(ctx.getSystem())
                                .killEvents
                                .labelValues(
                                    changed
                                        .scope()
                                        .getClass()
                                        .getSimpleName()
                                        .toLowerCase(Locale.ROOT),
                                    after.isPresent() ? "engaged" : "released")
                                .inc();
                          }
                          if (after.isPresent() && before.isEmpty()) {
                            // also when only the periodic re-read found it: the topic message was
                            // lost
                            log.warn(
                                "kill-switch {} in force on this node: wiping every local tenant's keys",
                                after.get().scope().asString());
                            wipeLocalTenants.accept(
                                after.get().scope().asString() + " kill-switch");
                          }
                          return Behaviors.same();
                        })
                    .build();
              });
        });
  }
}
