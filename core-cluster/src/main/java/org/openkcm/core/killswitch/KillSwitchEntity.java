package org.openkcm.core.killswitch;

import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;
import org.openkcm.core.reply.Rejections;
import org.openkcm.core.serialization.CborSerializable;
import org.openkcm.node.audit.AuditLog;
import org.openkcm.protocol.error.ErrorReason;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The region/global kill-switch of a Core cluster: one event-sourced cluster singleton holding the
 * scopes in force. Every change is persisted first (so it survives a full restart), then published
 * to every node's {@link KillSwitchWatcher} through a cluster topic.
 */
public final class KillSwitchEntity
    extends EventSourcedBehaviorWithEnforcedReplies<
        KillSwitchEntity.Command, KillSwitchEntity.Event, KillSwitchEntity.State> {

  public static final String TOPIC = "openkcm-kill-switch";
  private static final Logger log = LoggerFactory.getLogger(KillSwitchEntity.class);

  public sealed interface Command extends CborSerializable {}

  /** Pulls the switch of {@code scope} (global or a region; {@link KillScope#isClusterWide()}). */
  public record Engage(
      KillScope scope, String reason, String by, ActorRef<StatusReply<State>> replyTo)
      implements Command {}

  public record Release(KillScope scope, String by, ActorRef<StatusReply<State>> replyTo)
      implements Command {}

  public record Get(ActorRef<StatusReply<State>> replyTo) implements Command {}

  public sealed interface Event extends CborSerializable {}

  /** The journal keeps a scope in its {@link KillScope#asString()} form. */
  public record Engaged(String scope, String reason, String by, Instant at) implements Event {}

  public record Released(String scope, String by, Instant at) implements Event {}

  /** Scopes in force, by their {@link KillScope#asString()} form, and their records. */
  public record State(Map<String, KillRecord> engaged) implements CborSerializable {}

  /** What the topic carries: the whole state after a change. */
  public record Changed(State state) implements CborSerializable {}

  public static Behavior<Command> create(ActorRef<Topic.Command<Changed>> topic, Clock clock) {
    return Behaviors.setup(ctx -> new KillSwitchEntity(topic, clock));
  }

  private final ActorRef<Topic.Command<Changed>> topic;
  private final Clock clock;

  private KillSwitchEntity(ActorRef<Topic.Command<Changed>> topic, Clock clock) {
    super(PersistenceId.ofUniqueId("KillSwitch|cluster"));
    this.topic = topic;
    this.clock = clock;
  }

  @Override
  public State emptyState() {
    return new State(Map.of());
  }

  /** Every change reaches the other regions (Orbital ships what carries this tag). */
  @Override
  public java.util.Set<String> tagsFor(Event event) {
    return java.util.Set.of(org.openkcm.core.persistence.JournalTags.ORBITAL);
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder()
        .forAnyState()
        .onCommand(
            Engage.class,
            (s, c) -> {
              if (!c.scope().isClusterWide()) {
                return Effect()
                    .reply(
                        c.replyTo(),
                        Rejections.reject(
                            ErrorReason.INVALID_ARGUMENT,
                            "scope must be 'global' or 'region:<name>', was '"
                                + c.scope().asString()
                                + "'"));
              }
              if (s.engaged().containsKey(c.scope().asString())) {
                // already in force (also when another region's engagement comes back): no new event
                return Effect().reply(c.replyTo(), StatusReply.success(s));
              }
              log.warn(
                  "KILL-SWITCH ENGAGED for {} by {} (reason: {})", c.scope(), c.by(), c.reason());
              AuditLog.record(
                  "killswitch.engage",
                  "scope",
                  c.scope().asString(),
                  "by",
                  c.by(),
                  "reason",
                  c.reason());
              return Effect()
                  .persist(new Engaged(c.scope().asString(), c.reason(), c.by(), clock.instant()))
                  .thenRun(this::publish)
                  .thenReply(c.replyTo(), StatusReply::success);
            })
        .onCommand(
            Release.class,
            (s, c) -> {
              if (!s.engaged().containsKey(c.scope().asString())) {
                return Effect().reply(c.replyTo(), StatusReply.success(s));
              }
              log.warn("kill-switch released for {} by {}", c.scope(), c.by());
              AuditLog.record("killswitch.release", "scope", c.scope().asString(), "by", c.by());
              return Effect()
                  .persist(new Released(c.scope().asString(), c.by(), clock.instant()))
                  .thenRun(this::publish)
                  .thenReply(c.replyTo(), StatusReply::success);
            })
        .onCommand(Get.class, (s, c) -> Effect().reply(c.replyTo(), StatusReply.success(s)))
        .build();
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(
            Engaged.class,
            (s, e) -> {
              Map<String, KillRecord> next = new TreeMap<>(s.engaged());
              next.put(
                  e.scope(),
                  new KillRecord(KillScope.parse(e.scope()), e.reason(), e.by(), e.at()));
              return new State(next);
            })
        .onEvent(
            Released.class,
            (s, e) -> {
              Map<String, KillRecord> next = new TreeMap<>(s.engaged());
              next.remove(e.scope());
              return new State(next);
            })
        .build();
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.class, (s, r) -> publish(s))
        .build();
  }

  private void publish(State s) {
    topic.tell(Topic.publish(new Changed(s)));
  }
}
