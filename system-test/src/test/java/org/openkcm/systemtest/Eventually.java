package org.openkcm.systemtest;

import java.time.Duration;
import java.util.concurrent.Callable;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.openkcm.protocol.error.OpenKcmException;

/**
 * Waits until a check holds (replication is asynchronous): a test probe's {@code awaitAssert},
 * bounded, every 200 ms; a Core's refusal counts as "not yet" and is named when time runs out.
 */
final class Eventually {

  private Eventually() {}

  static <T> T holds(ActorTestKit kit, Duration within, Callable<T> check) {
    return kit.createTestProbe()
        .awaitAssert(
            within,
            Duration.ofMillis(200),
            () -> {
              try {
                return check.call();
              } catch (OpenKcmException e) {
                throw new AssertionError(e.oneLine(), e);
              } catch (AssertionError e) {
                throw e;
              } catch (Exception e) {
                throw new AssertionError(e);
              }
            });
  }
}
