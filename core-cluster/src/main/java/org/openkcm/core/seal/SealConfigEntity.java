package org.openkcm.core.seal;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.openkcm.core.reply.Rejections;
import org.openkcm.core.serialization.CborSerializable;
import org.openkcm.protocol.error.ErrorReason;

/**
 * The cluster's seal configuration, initialised once (cluster singleton): how the master key is
 * recovered (Shamir shares, or auto-unseal through an L1 keystore, where the wrapped master key is
 * kept here) and a verification blob that tells a correct reconstruction from a wrong one. Never
 * the master key itself.
 */
public final class SealConfigEntity
    extends EventSourcedBehaviorWithEnforcedReplies<
        SealConfigEntity.Command, SealConfigEntity.Event, SealConfigEntity.State> {

  public sealed interface Command extends CborSerializable {}

  public record Initialise(Config config, ActorRef<StatusReply<State>> replyTo)
      implements Command {}

  public record Get(ActorRef<StatusReply<State>> replyTo) implements Command {}

  public sealed interface Event extends CborSerializable {}

  public record Initialised(Config config, Instant at) implements Event {}

  /**
   * @param mode {@code shamir} or {@code auto}
   * @param autoWrapped the master key wrapped by {@code autoL1Reference} (auto mode)
   */
  public record Config(
      String mode,
      int shares,
      int threshold,
      byte[] checkBlob,
      String autoL1Reference,
      byte[] autoWrapped,
      Map<String, String> autoContext)
      implements CborSerializable {
    @Override
    public String toString() {
      return "SealConfig[" + mode + ", " + threshold + " of " + shares + "]";
    }
  }

  public record State(Optional<Config> config) implements CborSerializable {}

  public static Behavior<Command> create() {
    return new SealConfigEntity();
  }

  private SealConfigEntity() {
    super(PersistenceId.ofUniqueId("Seal|cluster"));
  }

  @Override
  public State emptyState() {
    return new State(Optional.empty());
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder()
        .forAnyState()
        .onCommand(
            Initialise.class,
            (s, c) ->
                s.config().isPresent()
                    ? Effect()
                        .reply(
                            c.replyTo(),
                            Rejections.reject(
                                ErrorReason.SEAL_ALREADY_INITIALISED,
                                "this cluster's seal is already initialised ("
                                    + s.config().get().mode()
                                    + "); shares are handed out only once"))
                    : Effect()
                        .persist(new Initialised(c.config(), Instant.now()))
                        .thenReply(c.replyTo(), StatusReply::success))
        .onCommand(Get.class, (s, c) -> Effect().reply(c.replyTo(), StatusReply.success(s)))
        .build();
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(Initialised.class, (s, e) -> new State(Optional.of(e.config())))
        .build();
  }
}
