package org.openkcm.core.api;

import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * Asks a tenant entity for an idempotent key operation (wrap, unwrap, rewrap) and, when no answer
 * came within {@code resendAfter}, asks once more for the rest of the deadline. Cluster sharding
 * delivers at most once: a message in flight to a node that is leaving while its shards move (a
 * rolling restart) can be lost, and would otherwise cost the caller its whole deadline. The second
 * ask finds the shard where it is now. A slow first answer (an unseal waiting on the customer's L1)
 * only means the entity does the same idempotent work twice; the late answer is dropped.
 */
final class ResendingAsk {

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ResendingAsk.class);

  private ResendingAsk() {}

  static <T> CompletionStage<T> ask(
      String what,
      Function<Duration, CompletionStage<T>> ask,
      Duration resendAfter,
      Duration deadline) {
    if (resendAfter.isZero() || resendAfter.compareTo(deadline) >= 0) {
      return ask.apply(deadline);
    }
    return ask.apply(resendAfter)
        .handle(
            (answer, failure) -> {
              if (failure == null) {
                return java.util.concurrent.CompletableFuture.completedFuture(answer);
              }
              Throwable cause =
                  failure instanceof CompletionException && failure.getCause() != null
                      ? failure.getCause()
                      : failure;
              if (cause instanceof TimeoutException) {
                log.info("{}: no answer within {}; asking once more", what, resendAfter);
                return ask.apply(deadline.minus(resendAfter));
              }
              return java.util.concurrent.CompletableFuture.<T>failedFuture(cause);
            })
        .thenCompose(Function.identity());
  }
}
