package org.openkcm.core.tenant;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * When this region last heard from each other region (the Orbital replicator records every
 * delivery, heartbeats included), and whether strict mode makes a replica tenant stop serving when
 * its home region has been silent too long ({@code openkcm.orbital.strict}).
 */
public final class HomeRegionHeartbeats implements Extension {

  private static final ExtensionId<HomeRegionHeartbeats> ID =
      new ExtensionId<>() {
        @Override
        public HomeRegionHeartbeats createExtension(ActorSystem<?> system) {
          var c = system.settings().config();
          boolean strict =
              c.hasPath("openkcm.orbital.strict.enabled")
                  && c.getBoolean("openkcm.orbital.strict.enabled");
          return new HomeRegionHeartbeats(
              strict
                  ? Optional.of(c.getDuration("openkcm.orbital.strict.max-silence"))
                  : Optional.empty(),
              Clock.systemUTC());
        }
      };

  private final Optional<Duration> maxSilence;
  private final Clock clock;
  private final Instant started;
  private final Map<String, Instant> heard = new ConcurrentHashMap<>();

  private HomeRegionHeartbeats(Optional<Duration> maxSilence, Clock clock) {
    this.maxSilence = maxSilence;
    this.clock = clock;
    this.started = clock.instant();
  }

  public static HomeRegionHeartbeats get(ActorSystem<?> system) {
    return ID.apply(system);
  }

  /** {@code region} was heard from now. */
  public void heard(String region) {
    heard.put(region, clock.instant());
  }

  /**
   * Why a replica of a tenant homed in {@code home} must not be served now (strict mode and silence
   * beyond the limit); empty when it may.
   */
  Optional<String> silent(String home) {
    if (maxSilence.isEmpty()) {
      return Optional.empty();
    }
    Instant last = heard.getOrDefault(home, started);
    Instant now = clock.instant();
    if (now.isAfter(last.plus(maxSilence.get()))) {
      return Optional.of(
          "strict mode: nothing heard from home region "
              + home
              + " since "
              + (heard.containsKey(home) ? last : "this node started")
              + " (openkcm.orbital.strict.max-silence = "
              + maxSilence.get()
              + "); the tenant is served again once it is heard");
    }
    return Optional.empty();
  }
}
