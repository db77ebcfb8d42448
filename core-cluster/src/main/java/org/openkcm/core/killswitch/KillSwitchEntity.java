package org.openkcm.core.killswitch;

import java.time.Clock;
import java.time.Instant;
import java.util.List;
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

  /**
   * Pulls the switch of {@code scope} (global or a region; {@link KillScope#isClusterWide()}) as
   * engagement {@code id}: empty for a new one of this region (an id is minted), or the id another
   * region gave it (Orbital).
   */
  public record Engage(
      KillScope scope, String reason, String by, String id, ActorRef<StatusReply<State>> replyTo)
      implements Command {
    public Engage {
      id = id == null ? "" : id;
    }
  }

  /**
   * Lifts the engagements {@code ids} of {@code scope}; none named: every engagement in force (an
   * operator of this region). The switch stays pulled while another engagement of the scope is in
   * force, and an engagement released before it arrives here never takes effect.
   */
  public record Release(
      KillScope scope, String by, List<String> ids, ActorRef<StatusReply<State>> replyTo)
      implements Command {
    public Release {
      ids = ids == null ? List.of() : List.copyOf(ids);
    }
  }

  public record Get(ActorRef<StatusReply<State>> replyTo) implements Command {}

  public sealed interface Event extends CborSerializable {}

  /**
   * The journal keeps a scope in its {@link KillScope#asString()} form; {@code id} names the
   * engagement (empty in events written before engagements had ids).
   */
  public record Engaged(String scope, String reason, String by, Instant at, String id)
      implements Event {
    public Engaged {
      id = id == null ? "" : id;
    }
  }

  /** The engagements {@code ids} were lifted (none: every one, in events written before ids). */
  public record Released(String scope, String by, Instant at, List<String> ids) implements Event {
    public Released {
      ids = ids == null ? List.of() : List.copyOf(ids);
    }
  }

  /**
   * Scopes in force, by their {@link KillScope#asString()} form, and their records; per scope the
   * engagements in force ({@code ids}); the engagements released lately ({@code released}, the last
   * {@value #REMEMBERED_RELEASES}), so one that arrives after its release stays lifted.
   */
  public record State(
      Map<String, KillRecord> engaged, Map<String, List<String>> ids, List<String> released)
      implements CborSerializable {
    public State {
      engaged = Map.copyOf(engaged);
      ids = ids == null ? Map.of() : Map.copyOf(ids);
      released = released == null ? List.of() : List.copyOf(released);
    }

    public State(Map<String, KillRecord> engaged) {
      this(engaged, Map.of(), List.of());
    }

    /** The engagements of {@code scope} in force. */
    public List<String> idsOf(String scope) {
      return ids.getOrDefault(scope, List.of());
    }
  }

  /** How many released engagement ids the switch remembers. */
  static final int REMEMBERED_RELEASES = 1000;

  /** What the topic carries: the whole state after a change. */
  public record Changed(State state) implements CborSerializable {}

  public static Behavior<Command> create(ActorRef<Topic.Command<Changed>> topic, Clock clock) {
    return Behaviors.setup(
        ctx ->
            new KillSwitchEntity(
                topic,
                clock,
                ctx.getSystem().settings().config().getString("openkcm.core.region")));
  }

  private final ActorRef<Topic.Command<Changed>> topic;
  private final Clock clock;
  private final String region;

  private KillSwitchEntity(ActorRef<Topic.Command<Changed>> topic, Clock clock, String region) {
    super(PersistenceId.ofUniqueId("KillSwitch|cluster"));
    this.topic = topic;
    this.clock = clock;
    this.region = region;
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
              String scope = c.scope().asString();
              if (!c.id().isEmpty() && known(s, scope, c.id())) {
                // in force already (an engagement coming back from another region), or released
                // before it arrived here: no new event. An operator's engagement is always new:
                // it holds until a release names it, whatever else is in force.
                return Effect().reply(c.replyTo(), StatusReply.success(s));
              }
              String id = c.id().isEmpty() ? region + "/" + java.util.UUID.randomUUID() : c.id();
              log.warn(
                  "KILL-SWITCH ENGAGED for {} by {} (reason: {}, engagement {})",
                  c.scope(),
                  c.by(),
                  c.reason(),
                  id);
              AuditLog.record(
                  "killswitch.engage",
                  "scope",
                  scope,
                  "by",
                  c.by(),
                  "reason",
                  c.reason(),
                  "id",
                  id);
              return Effect()
                  .persist(new Engaged(scope, c.reason(), c.by(), clock.instant(), id))
                  .thenRun(this::publish)
                  .thenReply(c.replyTo(), StatusReply::success);
            })
        .onCommand(
            Release.class,
            (s, c) -> {
              String scope = c.scope().asString();
              List<String> ids =
                  c.ids().isEmpty()
                      ? s.idsOf(scope)
                      : c.ids().stream().filter(i -> !s.released().contains(i)).toList();
              if (ids.isEmpty() && !(c.ids().isEmpty() && s.engaged().containsKey(scope))) {
                return Effect().reply(c.replyTo(), StatusReply.success(s));
              }
              log.warn(
                  "kill-switch released for {} by {} (engagements {})", c.scope(), c.by(), ids);
              AuditLog.record(
                  "killswitch.release", "scope", scope, "by", c.by(), "ids", String.join(",", ids));
              return Effect()
                  .persist(
                      new Released(
                          scope,
                          c.by(),
                          clock.instant(),
                          ids.isEmpty() ? List.of("") : ids)) // an engagement of before ids
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
        .onEvent(Engaged.class, KillSwitchEntity::engaged)
        .onEvent(Released.class, KillSwitchEntity::released)
        .build();
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.class, (s, r) -> publish(s))
        .build();
  }

  /** Whether engagement {@code id} of {@code scope} is in force or was released already. */
  private static boolean known(State s, String scope, String id) {
    return s.idsOf(scope).contains(id) || s.released().contains(id);
  }

  private static State engaged(State s, Engaged e) {
    if (!e.id().isEmpty() && s.released().contains(e.id())) {
      return s; // its release came first
    }
    Map<String, KillRecord> next = new TreeMap<>(s.engaged());
    next.putIfAbsent(
        e.scope(), new KillRecord(KillScope.parse(e.scope()), e.reason(), e.by(), e.at()));
    Map<String, List<String>> ids = new TreeMap<>(s.ids());
    List<String> inForce = new java.util.ArrayList<>(s.idsOf(e.scope()));
    if (!inForce.contains(e.id())) {
      inForce.add(e.id());
    }
    ids.put(e.scope(), List.copyOf(inForce));
    return new State(next, ids, s.released());
  }

  private static State released(State s, Released e) {
    Map<String, KillRecord> next = new TreeMap<>(s.engaged());
    Map<String, List<String>> ids = new TreeMap<>(s.ids());
    if (e.ids().isEmpty()) { // written before engagements had ids: the scope is lifted
      next.remove(e.scope());
      ids.remove(e.scope());
      return new State(next, ids, s.released());
    }
    List<String> inForce = new java.util.ArrayList<>(s.idsOf(e.scope()));
    inForce.removeAll(e.ids());
    java.util.ArrayList<String> released = new java.util.ArrayList<>(s.released());
    e.ids().stream().filter(i -> !i.isEmpty() && !released.contains(i)).forEach(released::add);
    while (released.size() > REMEMBERED_RELEASES) {
      released.remove(0);
    }
    if (inForce.isEmpty()) {
      next.remove(e.scope());
      ids.remove(e.scope());
    } else {
      ids.put(e.scope(), List.copyOf(inForce));
    }
    return new State(next, ids, released);
  }

  private void publish(State s) {
    topic.tell(Topic.publish(new Changed(s)));
  }
}
