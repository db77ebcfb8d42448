package org.openkcm.core.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;

class ResendingAskTest {

  private static final Duration DEADLINE = Duration.ofSeconds(10);
  private static final Duration RESEND = Duration.ofSeconds(2);

  @Test
  void anUnansweredAskIsSentOnceMoreForTheRestOfTheDeadline() throws Exception {
    List<Duration> asked = new ArrayList<>();
    String answer =
        ResendingAsk.<String>ask(
                "test",
                timeout -> {
                  asked.add(timeout);
                  return asked.size() == 1
                      ? CompletableFuture.failedFuture(new TimeoutException("lost in a hand-off"))
                      : CompletableFuture.completedFuture("wrapped");
                },
                RESEND,
                DEADLINE)
            .toCompletableFuture()
            .get();
    assertEquals("wrapped", answer);
    assertEquals(List.of(RESEND, DEADLINE.minus(RESEND)), asked);
  }

  @Test
  void anAnswerThatIsARefusalIsNotSentAgain() {
    List<Duration> asked = new ArrayList<>();
    ExecutionException e =
        assertThrows(
            ExecutionException.class,
            () ->
                ResendingAsk.<String>ask(
                        "test",
                        timeout -> {
                          asked.add(timeout);
                          return CompletableFuture.failedFuture(
                              new OpenKcmException(ErrorReason.TENANT_KILLED, "killed"));
                        },
                        RESEND,
                        DEADLINE)
                    .toCompletableFuture()
                    .get());
    assertInstanceOf(OpenKcmException.class, e.getCause());
    assertEquals(1, asked.size());
  }

  @Test
  void twoTimeoutsEndTheCallAndZeroTurnsResendingOff() {
    List<Duration> asked = new ArrayList<>();
    assertThrows(
        ExecutionException.class,
        () ->
            ResendingAsk.<String>ask(
                    "test",
                    timeout -> {
                      asked.add(timeout);
                      return CompletableFuture.failedFuture(new TimeoutException("gone"));
                    },
                    RESEND,
                    DEADLINE)
                .toCompletableFuture()
                .get());
    assertEquals(2, asked.size());
    asked.clear();
    ResendingAsk.<String>ask(
        "test",
        timeout -> {
          asked.add(timeout);
          return CompletableFuture.completedFuture("ok");
        },
        Duration.ZERO,
        DEADLINE);
    assertEquals(List.of(DEADLINE), asked);
  }
}
