package org.openkcm.gateway.corelink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openkcm.node.grpc.NettyGrpcClient;
import org.openkcm.node.grpc.NettyGrpcServer;
import org.openkcm.node.grpc.UnaryService;
import org.openkcm.protocol.core.v1.CoreKeyService;
import org.openkcm.protocol.core.v1.UnwrapKeysRequest;
import org.openkcm.protocol.core.v1.UnwrapKeysResponse;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;

/** One stream of calls to a real grpc-java server that answers, or falls silent on request. */
class CoreStreamTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(1);
  private static final AtomicBoolean silent = new AtomicBoolean();
  private static final AtomicInteger requests = new AtomicInteger();
  private static NettyGrpcServer server;
  private static NettyGrpcClient channel;

  @BeforeAll
  static void start() {
    server =
        NettyGrpcServer.start(
            "127.0.0.1",
            0,
            new NettyGrpcServer.Limits(100, 1 << 20, Duration.ofSeconds(1)),
            Runnable::run,
            Optional.empty(),
            Set.of(),
            List.of(
                UnaryService.named(CoreKeyService.name)
                    .callStream(
                        "UnwrapStream",
                        UnwrapKeysRequest.getDefaultInstance(),
                        UnwrapKeysResponse.getDefaultInstance(),
                        q -> {
                          requests.incrementAndGet();
                          return silent.get()
                              ? new CompletableFuture<>() // never answered
                              : CompletableFuture.completedFuture(
                                  UnwrapKeysResponse.newBuilder()
                                      .setCallId(q.getCallId())
                                      .setTenantSequence(7)
                                      .build());
                        })
                    .build()));
    channel =
        NettyGrpcClient.connect(
            "127.0.0.1",
            server.address().getPort(),
            Optional.empty(),
            Set.of(),
            Duration.ofSeconds(5));
    // the channel connects, and the classes load, on its first call: not within a call's timeout
    // on a busy machine, which is not what these tests are about
    var warm = stream();
    try {
      assertEquals(7, await(warm).getTenantSequence());
    } catch (Exception e) {
      throw new IllegalStateException("the test server did not answer", e);
    } finally {
      warm.close();
    }
  }

  @AfterAll
  static void stop() {
    channel.close();
    server.close();
  }

  private static CoreStream<UnwrapKeysRequest, UnwrapKeysResponse> stream() {
    return new CoreStream<>(
        "test",
        channel,
        NettyGrpcClient.bidiMethod(
            CoreKeyService.name,
            "UnwrapStream",
            UnwrapKeysRequest.getDefaultInstance(),
            UnwrapKeysResponse.getDefaultInstance()),
        UnwrapKeysResponse::getCallId,
        16,
        TIMEOUT);
  }

  private static UnwrapKeysResponse await(CoreStream<UnwrapKeysRequest, UnwrapKeysResponse> s)
      throws Exception {
    return s.call(id -> UnwrapKeysRequest.newBuilder().setTenantId("acme").setCallId(id).build())
        .toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
  }

  @Test
  void aSilentStreamFailsItsCallsAfterTheTimeoutAndTheNextCallOpensANewOne() throws Exception {
    var s = stream();
    try {
      silent.set(false);
      assertEquals(7, await(s).getTenantSequence());
      silent.set(true);
      long start = System.nanoTime();
      ExecutionException e =
          org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, () -> await(s));
      long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      OpenKcmException failure = assertInstanceOf(OpenKcmException.class, e.getCause());
      assertEquals(ErrorReason.CORE_UNAVAILABLE, failure.reason());
      assertEquals("stream to Core test answered nothing within 1000 ms", failure.getMessage());
      assertTrue(waitedMs >= 1000, "failed before its timeout: " + waitedMs + " ms");
      // the abandoned stream is not used again: the next call opens another, which answers
      silent.set(false);
      int before = requests.get();
      assertEquals(7, await(s).getTenantSequence());
      assertEquals(before + 1, requests.get());
    } finally {
      s.close();
    }
  }

  @Test
  void callsAnsweredInTimeAreNeverFailedBySweeps() throws Exception {
    var s = stream();
    try {
      silent.set(false);
      long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2 * TIMEOUT.toMillis());
      int calls = 0;
      while (System.nanoTime() < end) { // several sweeps pass while calls come and go
        assertEquals(7, await(s).getTenantSequence());
        calls++;
      }
      assertTrue(calls > 10, "only " + calls + " calls");
    } finally {
      s.close();
    }
  }
}
