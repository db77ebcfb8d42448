package org.openkcm.core.api;

import java.util.Optional;
import java.util.stream.Collectors;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.openkcm.core.killswitch.KillScope;
import org.openkcm.core.killswitch.KillSwitchEntity;
import org.openkcm.core.killswitch.KillSwitchWatcher;
import org.openkcm.core.tenant.TenantEvents;
import org.openkcm.protocol.core.v1.TenantEvent;
import org.openkcm.protocol.event.TenantEventKind;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One gateway's tenant-event watch: subscribed to the cluster's tenant-event and kill-switch
 * topics, it forwards each change of a tenant the gateway serves to the gRPC stream, repeats this
 * node's kill-switch view every refresh interval (a lost topic message cannot leave a gateway
 * serving under a kill-switch), and stops when the stream ends.
 */
final class TenantWatchSession {

  private static final Logger log = LoggerFactory.getLogger(TenantWatchSession.class);

  sealed interface Command {}

  private record TenantChanged(TenantEvents.StatusChanged change) implements Command {}

  private record KillSwitchChanged(KillSwitchEntity.State state) implements Command {}

  private record StreamEnded() implements Command {}

  private record ResendKillSwitch() implements Command {}

  private TenantWatchSession() {}

  static Behavior<Command> create(
      ActorRef<TenantEvent> out,
      String gateway,
      java.util.function.Predicate<String> serves,
      ActorRef<Topic.Command<TenantEvents.StatusChanged>> tenantTopic,
      ActorRef<Topic.Command<KillSwitchEntity.Changed>> killSwitchTopic,
      KillSwitchWatcher killSwitch,
      java.time.Duration resendKillSwitch) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers -> {
                  timers.startTimerWithFixedDelay(new ResendKillSwitch(), resendKillSwitch);
                  ctx.watchWith(out, new StreamEnded());
                  tenantTopic.tell(
                      Topic.subscribe(
                          ctx.messageAdapter(
                              TenantEvents.StatusChanged.class, TenantChanged::new)));
                  killSwitchTopic.tell(
                      Topic.subscribe(
                          ctx.messageAdapter(
                              KillSwitchEntity.Changed.class,
                              c -> new KillSwitchChanged(c.state()))));
                  log.info("gateway {} watches tenant events", gateway);
                  out.tell(TenantEvent.newBuilder().setKind(TenantEventKind.HELLO.id()).build());
                  out.tell(killSwitchEvent(killSwitch.engaged().map(k -> k.scope().asString())));
                  return Behaviors.receive(Command.class)
                      .onMessage(
                          ResendKillSwitch.class,
                          m -> {
                            out.tell(
                                killSwitchEvent(
                                    killSwitch.engaged().map(k -> k.scope().asString())));
                            return Behaviors.same();
                          })
                      .onMessage(
                          TenantChanged.class,
                          m -> {
                            if (!serves.test(m.change().tenantId())) {
                              return Behaviors.same();
                            }
                            out.tell(
                                TenantEvent.newBuilder()
                                    .setKind(m.change().kind().id())
                                    .setTenantId(m.change().tenantId())
                                    .setReason(m.change().reason())
                                    .setAt(m.change().at().toString())
                                    .setSequence(m.change().sequence())
                                    .build());
                            return Behaviors.same();
                          })
                      .onMessage(
                          KillSwitchChanged.class,
                          m -> {
                            String inForce =
                                m.state().engaged().keySet().stream()
                                    .filter(
                                        scope ->
                                            scope.equals(KillScope.GLOBAL.asString())
                                                || scope.equals(
                                                    new KillScope.Region(killSwitch.region())
                                                        .asString()))
                                    .collect(Collectors.joining(","));
                            out.tell(
                                killSwitchEvent(
                                    inForce.isEmpty() ? Optional.empty() : Optional.of(inForce)));
                            return Behaviors.same();
                          })
                      .onMessage(
                          StreamEnded.class,
                          m -> {
                            log.info("gateway {} stopped watching tenant events", gateway);
                            return Behaviors.stopped();
                          })
                      .build();
                }));
  }

  private static TenantEvent killSwitchEvent(Optional<String> scope) {
    return TenantEvent.newBuilder()
        .setKind(TenantEventKind.KILL_SWITCH.id())
        .setScope(scope.orElse(""))
        .build();
  }
}
