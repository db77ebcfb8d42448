package org.openkcm.node.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.openkcm.protocol.core.v1.CoreKeyService;
import org.openkcm.protocol.core.v1.UnwrapKeysRequest;
import org.openkcm.protocol.core.v1.UnwrapKeysResponse;

/** A real listener and client on loopback, on a node's own event loops or on grpc-java's. */
class NettyEventLoopsTest {

  private record Seen(String handler, String answer, long sequence) {}

  private static Seen callOnce(Optional<NettyEventLoops> loops) throws Exception {
    AtomicReference<String> handler = new AtomicReference<>();
    NettyGrpcServer server =
        NettyGrpcServer.start(
            "127.0.0.1",
            0,
            new NettyGrpcServer.Limits(100, 1 << 20, Duration.ofSeconds(1)),
            Runnable::run, // the service code on the event loop, as the gateway runs it
            Optional.empty(),
            Set.of(),
            List.of(
                UnaryService.named(CoreKeyService.name)
                    .method(
                        "UnwrapKeys",
                        UnwrapKeysRequest.getDefaultInstance(),
                        UnwrapKeysResponse.getDefaultInstance(),
                        q -> {
                          handler.set(Thread.currentThread().getName());
                          return CompletableFuture.completedFuture(
                              UnwrapKeysResponse.newBuilder().setTenantSequence(42).build());
                        })
                    .build()),
            loops);
    NettyGrpcClient client =
        NettyGrpcClient.connect(
            "127.0.0.1",
            server.address().getPort(),
            Optional.empty(),
            Set.of(),
            Duration.ofSeconds(5),
            false,
            loops);
    try {
      AtomicReference<String> answeredOn = new AtomicReference<>();
      long sequence =
          client
              .call(
                  NettyGrpcClient.method(
                      CoreKeyService.name,
                      "UnwrapKeys",
                      UnwrapKeysRequest.getDefaultInstance(),
                      UnwrapKeysResponse.getDefaultInstance()),
                  UnwrapKeysRequest.newBuilder().setTenantId("acme").build())
              .thenApply(
                  r -> {
                    answeredOn.set(Thread.currentThread().getName());
                    return r.getTenantSequence();
                  })
              .toCompletableFuture()
              .get(10, TimeUnit.SECONDS);
      return new Seen(handler.get(), answeredOn.get(), sequence);
    } finally {
      client.close();
      server.close();
    }
  }

  @Test
  void withOneOwnThreadTheListenerAndTheClientRunOnIt() throws Exception {
    try (NettyEventLoops loops = NettyEventLoops.create("test-io", 1)) {
      Seen seen = callOnce(Optional.of(loops));
      assertEquals(42, seen.sequence());
      assertTrue(seen.handler().startsWith("test-io"), "handled on " + seen.handler());
      assertEquals(seen.handler(), seen.answer(), "the answer came back on another thread");
    }
  }

  @Test
  void withoutThemGrpcJavasSharedGroupServes() throws Exception {
    Seen seen = callOnce(Optional.empty());
    assertEquals(42, seen.sequence());
    assertTrue(seen.handler().startsWith("grpc-default-worker"), "handled on " + seen.handler());
  }

  @Test
  void noThreadsIsRefused() {
    IllegalArgumentException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            IllegalArgumentException.class, () -> NettyEventLoops.create("x", 0));
    assertEquals("event loops need at least one thread, was 0", e.getMessage());
  }
}
