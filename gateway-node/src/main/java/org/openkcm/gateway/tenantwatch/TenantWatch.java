package org.openkcm.gateway.tenantwatch;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.stream.RestartSettings;
import org.apache.pekko.stream.javadsl.RestartSource;
import org.apache.pekko.stream.javadsl.Sink;
import org.openkcm.protocol.core.v1.CoreKeyServiceClient;
import org.openkcm.protocol.core.v1.TenantEvent;
import org.openkcm.protocol.core.v1.WatchTenantEventsRequest;
import org.openkcm.protocol.event.TenantEventKind;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a server-streamed tenant-event watch open to one of the Core nodes (reconnecting with
 * backoff, to the next node in turn) and applies each event to {@link TenantStates}; {@code flush}
 * drops what the gateway holds for a tenant (or, with {@code null}, for every tenant).
 */
public final class TenantWatch {

  private static final Logger log = LoggerFactory.getLogger(TenantWatch.class);

  private TenantWatch() {}

  public static void start(
      ActorSystem<?> system,
      List<CoreKeyServiceClient> cores,
      String gatewayName,
      TenantStates states,
      Consumer<String> flush,
      Duration minBackoff,
      Duration maxBackoff) {
    start(system, cores, gatewayName, states, flush, t -> {}, minBackoff, maxBackoff, e -> true);
  }

  /**
   * As above; only events {@code delivered} accepts are applied (tests use it to lose events on
   * purpose, as a network or a late subscription would).
   */
  public static void start(
      ActorSystem<?> system,
      List<CoreKeyServiceClient> cores,
      String gatewayName,
      TenantStates states,
      Consumer<String> flush,
      Consumer<String> offboarded,
      Duration minBackoff,
      Duration maxBackoff,
      java.util.function.Predicate<TenantEvent> delivered) {
    AtomicInteger next = new AtomicInteger();
    RestartSource.withBackoff(
            RestartSettings.create(minBackoff, maxBackoff, 0.2),
            () -> {
              CoreKeyServiceClient core =
                  cores.get(Math.floorMod(next.getAndIncrement(), cores.size()));
              return core.watchTenantEvents(
                      WatchTenantEventsRequest.newBuilder().setGateway(gatewayName).build())
                  .watchTermination(
                      (mat, done) -> {
                        done.whenComplete(
                            (d, failure) -> {
                              if (states.isConnected()) {
                                log.warn(
                                    "tenant-event watch lost ({}); serving nothing locally until it is back",
                                    failure == null ? "closed" : failure.getMessage());
                              }
                              states.disconnected();
                              flush.accept(null);
                            });
                        return mat;
                      });
            })
        .filter(delivered::test)
        .runWith(Sink.foreach(event -> apply(event, states, flush, offboarded)), system);
  }

  static void apply(TenantEvent e, TenantStates states, Consumer<String> flush) {
    apply(e, states, flush, t -> {});
  }

  /** Applies {@code e}; an offboarding also hands the tenant to {@code offboarded}. */
  static void apply(
      TenantEvent e, TenantStates states, Consumer<String> flush, Consumer<String> offboarded) {
    java.util.Optional<TenantEventKind> kind = TenantEventKind.parse(e.getKind());
    if (kind.isEmpty()) {
      // a kind this gateway does not know (a newer Core): fail closed for the tenant it names
      if (!e.getTenantId().isEmpty()) {
        states.blocked(e.getTenantId());
        flush.accept(e.getTenantId());
      }
      log.warn(
          "tenant {}: unknown event kind {}; local state dropped", e.getTenantId(), e.getKind());
      return;
    }
    switch (kind.get()) {
      case HELLO -> {
        flush.accept(null);
        states.connected();
        log.info("tenant-event watch connected; every tenant re-syncs on its next Core call");
      }
      case KILL_SWITCH -> {
        boolean inForce = !e.getScope().isEmpty();
        states.killSwitch(inForce);
        if (inForce) {
          flush.accept(null);
          log.warn("kill-switch {} in force: local state of every tenant dropped", e.getScope());
        }
      }
      default -> {
        if (!states.event(e.getTenantId(), e.getSequence())) {
          flush.accept(e.getTenantId());
          log.warn(
              "tenant {}: event {} arrived after a gap in its sequence (an event was lost); local state"
                  + " dropped, re-synced on its next Core call",
              e.getTenantId(),
              e.getSequence());
        }
        if (kind.get() == TenantEventKind.OFFBOARDED) {
          offboarded.accept(e.getTenantId());
        }
        if (kind.get() == TenantEventKind.KEY_ROTATED) {
          // pooled DEKs are wrapped under the older version: new ones come under the active one
          flush.accept(e.getTenantId());
        }
        if (kind.get().blocks()) {
          states.blocked(e.getTenantId());
          flush.accept(e.getTenantId());
          log.warn(
              "tenant {} {} ({}): local state dropped",
              e.getTenantId(),
              e.getKind(),
              e.getReason());
        } else {
          log.info("tenant {} {}", e.getTenantId(), e.getKind());
        }
      }
    }
  }
}
