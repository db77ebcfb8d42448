package org.openkcm.node.grpc;

import com.google.protobuf.Message;
import io.grpc.Context;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.protobuf.ProtoUtils;
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
 * GrpcErrors}).
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
    MethodDescriptor<Q, R> descriptor =
        MethodDescriptor.<Q, R>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName(MethodDescriptor.generateFullMethodName(serviceName, name))
            .setRequestMarshaller(ProtoUtils.marshaller(requestPrototype))
            .setResponseMarshaller(ProtoUtils.marshaller(responsePrototype))
            .build();
    builder.addMethod(
        descriptor,
        ServerCalls.asyncUnaryCall(
            (Q request, StreamObserver<R> out) -> {
              CompletionStage<R> answer;
              // Outside the call's cancellable gRPC Context (only the caller's identity is carried
              // over): calls to the Core started here (pool refills, coalesced unwraps) serve other
              // requests too and must not be cancelled when this call ends.
              SpiffeId peer = PeerInterceptor.PEER.get();
              Context detached =
                  peer == null ? Context.ROOT : Context.ROOT.withValue(PeerInterceptor.PEER, peer);
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

  public ServerServiceDefinition build() {
    return builder.build();
  }
}
