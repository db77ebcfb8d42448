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
import org.openkcm.core.serialization.CborSerializable;
import org.openkcm.core.tenant.TenantEntity.KillRecord;
import org.openkcm.protocol.audit.AuditLog;
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

  public record Engage(String scope, String reason, String by, ActorRef<StatusReply<State>> replyTo)
      implements Command {}

  public record Release(String scope, String by, ActorRef<StatusReply<State>> replyTo)
      implements Command {}

  public record Get(ActorRef<StatusReply<State>> replyTo) implements Command {}

  public sealed interface Event extends CborSerializable {}

  public record Engaged(String scope, String reason, String by, Instant at) implements Event {}

  public record Released(String scope, String by, Instant at) implements Event {}

  /** Scopes in force ({@code global}, {@code region:<name>}) and their records. */
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

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder()
        .forAnyState()
        .onCommand(
            Engage.class,
            (s, c) -> {
              if (!validScope(c.scope())) {
                return Effect()
                    .reply(
                        c.replyTo(),
                        StatusReply.error(
                            "[INVALID_ARGUMENT] scope must be 'global' or 'region:<name>', was '"
                                + c.scope()
                                + "'"));
              }
              log.warn(
                  "KILL-SWITCH ENGAGED for {} by {} (reason: {})", c.scope(), c.by(), c.reason());
              AuditLog.record(
                  "killswitch.engage", "scope", c.scope(), "by", c.by(), "reason", c.reason());
              return Effect()
                  .persist(new Engaged(c.scope(), c.reason(), c.by(), clock.instant()))
                  .thenRun(this::publish)
                  .thenReply(c.replyTo(), StatusReply::success);
            })
        .onCommand(
            Release.class,
            (s, c) -> {
              if (!s.engaged().containsKey(c.scope())) {
                return Effect().reply(c.replyTo(), StatusReply.success(s));
              }
              log.warn("kill-switch released for {} by {}", c.scope(), c.by());
              AuditLog.record("killswitch.release", "scope", c.scope(), "by", c.by());
              return Effect()
                  .persist(new Released(c.scope(), c.by(), clock.instant()))
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
              next.put(e.scope(), new KillRecord(e.scope(), e.reason(), e.by(), e.at()));
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

  static boolean validScope(String scope) {
    return "global".equals(scope)
        || (scope != null && scope.matches("region:[a-z0-9][a-z0-9._-]{0,62}"));
  }
}
