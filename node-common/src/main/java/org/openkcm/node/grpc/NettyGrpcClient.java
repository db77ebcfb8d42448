package org.openkcm.node.grpc;

import com.google.protobuf.Message;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.openkcm.node.tls.MutualTls;

/**
 * Calls to one server on a grpc-java Netty channel whose answers are handled on the channel's event
 * loop (direct executor: no hand-off to another thread pool, which is what pekko-grpc's client adds
 * to every call). For short, non-blocking callbacks only: whoever continues a returned stage must
 * not block. Unary failures complete the stage with grpc-java's {@code StatusRuntimeException}, as
 * pekko-grpc clients do, so {@code GrpcErrors.fromGrpc} reads both. A stream fails as soon as its
 * connection does (a node that is gone answers no stream: the call fails at once).
 */
public final class NettyGrpcClient implements AutoCloseable {

  private final ManagedChannel channel;
  private final Duration deadline;

  private NettyGrpcClient(ManagedChannel channel, Duration deadline) {
    this.channel = channel;
    this.deadline = deadline;
  }

  /**
   * A client of {@code host:port}: over mutual TLS with this node's certificate, accepting only
   * servers of {@code serverKinds}, when {@code tls} is present; plaintext otherwise. Every call
   * gets {@code deadline}.
   */
  public static NettyGrpcClient connect(
      String host, int port, Optional<MutualTls> tls, Set<String> serverKinds, Duration deadline) {
    return connect(host, port, tls, serverKinds, deadline, false);
  }

  /**
   * As {@link #connect(String, int, Optional, Set, Duration)}; with {@code keepalive}, HTTP/2 pings
   * every 10 s (the least grpc-java allows) answered within 2 s, so a long-lived stream to a node
   * that vanished without closing its connection (killed host, partition) fails within ~12 s.
   */
  public static NettyGrpcClient connect(
      String host,
      int port,
      Optional<MutualTls> tls,
      Set<String> serverKinds,
      Duration deadline,
      boolean keepalive) {
    NettyChannelBuilder b = NettyChannelBuilder.forAddress(host, port).directExecutor();
    if (keepalive) {
      b.keepAliveTime(10, TimeUnit.SECONDS)
          .keepAliveTimeout(2, TimeUnit.SECONDS)
          .keepAliveWithoutCalls(true);
    }
    if (tls.isPresent()) {
      MutualTls t = tls.get();
      try {
        b.sslContext(
            GrpcSslContexts.configure(
                    SslContextBuilder.forClient().keyManager(t.keyManager()), SslProvider.JDK)
                .trustManager(t.trustManager(serverKinds))
                .protocols(t.settings().protocols())
                .build());
      } catch (SSLException e) {
        throw new IllegalStateException("cannot build a TLS client context: " + e.getMessage(), e);
      }
    } else {
      b.usePlaintext();
    }
    return new NettyGrpcClient(b.build(), deadline);
  }

  /** The unary method {@code name} of service {@code serviceName} (full protobuf name). */
  public static <Q extends Message, R extends Message> MethodDescriptor<Q, R> method(
      String serviceName, String name, Q requestPrototype, R responsePrototype) {
    return descriptor(
        MethodDescriptor.MethodType.UNARY, serviceName, name, requestPrototype, responsePrototype);
  }

  /** The bidirectional streaming method {@code name} of service {@code serviceName}. */
  public static <Q extends Message, R extends Message> MethodDescriptor<Q, R> bidiMethod(
      String serviceName, String name, Q requestPrototype, R responsePrototype) {
    return descriptor(
        MethodDescriptor.MethodType.BIDI_STREAMING,
        serviceName,
        name,
        requestPrototype,
        responsePrototype);
  }

  /**
   * A method of {@code serviceName} with protobuf marshallers (clients and {@link UnaryService}).
   */
  static <Q extends Message, R extends Message> MethodDescriptor<Q, R> descriptor(
      MethodDescriptor.MethodType type,
      String serviceName,
      String name,
      Q requestPrototype,
      R responsePrototype) {
    return MethodDescriptor.<Q, R>newBuilder()
        .setType(type)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(serviceName, name))
        .setRequestMarshaller(ProtoUtils.marshaller(requestPrototype))
        .setResponseMarshaller(ProtoUtils.marshaller(responsePrototype))
        .build();
  }

  /**
   * Opens a bidirectional stream of {@code method} (no deadline): answers go to {@code answers} on
   * the event loop; the returned observer sends requests and must be called by one thread at a
   * time.
   */
  public <Q, R> StreamObserver<Q> stream(MethodDescriptor<Q, R> method, StreamObserver<R> answers) {
    return ClientCalls.asyncBidiStreamingCall(
        channel.newCall(method, CallOptions.DEFAULT), answers);
  }

  /** Calls {@code method} with {@code request}; the stage completes on the event loop. */
  public <Q, R> CompletionStage<R> call(MethodDescriptor<Q, R> method, Q request) {
    CompletableFuture<R> answer = new CompletableFuture<>();
    ClientCalls.asyncUnaryCall(
        channel.newCall(
            method,
            CallOptions.DEFAULT.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS)),
        request,
        new StreamObserver<R>() {
          @Override
          public void onNext(R value) {
            answer.complete(value);
          }

          @Override
          public void onError(Throwable t) {
            answer.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {
            if (!answer.isDone()) {
              answer.completeExceptionally(
                  io.grpc.Status.INTERNAL
                      .withDescription("the server ended a unary call without an answer")
                      .asRuntimeException());
            }
          }
        });
    return answer;
  }

  @Override
  public void close() {
    channel.shutdown();
    try {
      if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
        channel.shutdownNow();
      }
    } catch (InterruptedException e) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
