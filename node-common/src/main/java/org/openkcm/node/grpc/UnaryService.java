package org.openkcm.node.grpc;

import com.google.protobuf.Message;
import io.grpc.Context;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.openkcm.node.tls.SpiffeId;
import org.openkcm.protocol.error.GrpcErrors;

/**
 * A grpc-java service definition made of unary methods that answer with a {@link CompletionStage},
 * the shape of the pekko-grpc generated service interfaces, so one implementation can be served by
 * either server. Failures become a status with the {@code openkcm-reason} trailer ({@link
 * GrpcErrors}). It may also carry streams of calls ({@link #callStream}): bidirectional streams
 * whose every request is one such call, answered as it finishes.
 */
public final class UnaryService {

  private final String serviceName;
  private final ServerServiceDefinition.Builder builder;

  private UnaryService(String serviceName) {
    this.serviceName = serviceName;
    this.builder = ServerServiceDefinition.builder(serviceName);
  }

  /**
   * A service with the full protobuf name {@code serviceName}, e.g. {@code
   * openkcm.gateway.v1.DataKeyService}.
   */
  public static UnaryService named(String serviceName) {
    return new UnaryService(serviceName);
  }

  /** Adds the unary method {@code name} answered by {@code handler}. */
  public <Q extends Message, R extends Message> UnaryService method(
      String name,
      Q requestPrototype,
      R responsePrototype,
      Function<Q, CompletionStage<R>> handler) {
    builder.addMethod(
        descriptor(MethodDescriptor.MethodType.UNARY, name, requestPrototype, responsePrototype),
        ServerCalls.asyncUnaryCall(
            (Q request, StreamObserver<R> out) -> {
              CompletionStage<R> answer;
              Context detached = detached(); // pool refills, coalesced unwraps outlive the call
              Context previous = detached.attach();
              try {
                answer = handler.apply(request);
              } catch (RuntimeException e) {
                out.onError(GrpcErrors.toStatusException(e));
                return;
              } finally {
                detached.detach(previous);
              }
              answer.whenComplete(
                  (response, failure) -> {
                    if (failure != null) {
                      out.onError(GrpcErrors.toStatusException(failure));
                    } else {
                      out.onNext(response);
                      out.onCompleted();
                    }
                  });
            }));
    return this;
  }

  /**
   * Adds the bidirectional method {@code name}: every request is one call of {@code handler},
   * answered on the stream as soon as it finishes, in any order (the answers carry what pairs them
   * with their requests). {@code handler} turns its own failures into answers: a failed stage ends
   * the whole stream. The stream completes once the client has and every call is answered.
   */
  public <Q extends Message, R extends Message> UnaryService callStream(
      String name,
      Q requestPrototype,
      R responsePrototype,
      Function<Q, CompletionStage<R>> handler) {
    builder.addMethod(
        descriptor(
            MethodDescriptor.MethodType.BIDI_STREAMING, name, requestPrototype, responsePrototype),
        ServerCalls.asyncBidiStreamingCall(
            (StreamObserver<R> out) ->
                new CallStream<>(handler, (ServerCallStreamObserver<R>) out)));
    return this;
  }

  private <Q extends Message, R extends Message> MethodDescriptor<Q, R> descriptor(
      MethodDescriptor.MethodType type, String name, Q requestPrototype, R responsePrototype) {
    return NettyGrpcClient.descriptor(type, serviceName, name, requestPrototype, responsePrototype);
  }

  /**
   * The Context a handler runs in: the caller's identity only, not the call's cancellable Context
   * (calls to the Core started there serve other requests too and must outlive this one).
   */
  private static Context detached() {
    SpiffeId peer = PeerInterceptor.PEER.get();
    return peer == null ? Context.ROOT : Context.ROOT.withValue(PeerInterceptor.PEER, peer);
  }

  /** One stream of calls: answers written one at a time, completion after the last answer. */
  private static final class CallStream<Q, R> implements StreamObserver<Q> {
    private final Function<Q, CompletionStage<R>> handler;
    private final ServerCallStreamObserver<R> out;
    private final Context detached;
    private int pending; // guarded by out
    private boolean halfClosed; // guarded by out
    private boolean finished; // guarded by out

    CallStream(Function<Q, CompletionStage<R>> handler, ServerCallStreamObserver<R> out) {
      this.handler = handler;
      this.out = out;
      this.detached = detached(); // as for unary calls
    }

    @Override
    public void onNext(Q request) {
      synchronized (out) {
        pending++;
      }
      CompletionStage<R> answer;
      Context previous = detached.attach();
      try {
        answer = handler.apply(request);
      } catch (RuntimeException e) {
        answer = java.util.concurrent.CompletableFuture.failedFuture(e);
      } finally {
        detached.detach(previous);
      }
      answer.whenComplete(this::answered);
    }

    private void answered(R response, Throwable failure) {
      synchronized (out) {
        pending--;
        if (finished || out.isCancelled()) {
          return;
        }
        if (failure != null) {
          finished = true;
          out.onError(GrpcErrors.toStatusException(failure));
          return;
        }
        out.onNext(response);
        if (halfClosed && pending == 0) {
          finished = true;
          out.onCompleted();
        }
      }
    }

    @Override
    public void onError(Throwable t) {
      synchronized (out) {
        finished = true; // the client went away: its answers have nowhere to go
      }
    }

    @Override
    public void onCompleted() {
      synchronized (out) {
        halfClosed = true;
        if (pending == 0 && !finished) {
          finished = true;
          out.onCompleted();
        }
      }
    }
  }

  public ServerServiceDefinition build() {
    return builder.build();
  }
}
