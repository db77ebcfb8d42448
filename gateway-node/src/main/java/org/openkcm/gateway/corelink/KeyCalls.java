package org.openkcm.gateway.corelink;

import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.function.UnaryOperator;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.openkcm.node.grpc.NettyGrpcClient;
import org.openkcm.node.tls.MutualTls;
import org.openkcm.protocol.core.v1.CoreKeyService;
import org.openkcm.protocol.core.v1.CoreKeyServiceClient;
import org.openkcm.protocol.core.v1.RewrapKeysRequest;
import org.openkcm.protocol.core.v1.RewrapKeysResponse;
import org.openkcm.protocol.core.v1.UnwrapKeysRequest;
import org.openkcm.protocol.core.v1.UnwrapKeysResponse;
import org.openkcm.protocol.core.v1.WrapKeysRequest;
import org.openkcm.protocol.core.v1.WrapKeysResponse;

/**
 * The unary key calls of one Core node (WrapKeys, UnwrapKeys, RewrapKeys), on one of two clients:
 * grpc-java's Netty channel answering on its event loop ({@link #netty}), or pekko-grpc's client
 * ({@link #pekko}), which hands every answer to another thread pool first.
 */
public interface KeyCalls extends AutoCloseable {

  CompletionStage<WrapKeysResponse> wrapKeys(WrapKeysRequest request);

  CompletionStage<UnwrapKeysResponse> unwrapKeys(UnwrapKeysRequest request);

  CompletionStage<RewrapKeysResponse> rewrapKeys(RewrapKeysRequest request);

  @Override
  void close();

  /** Key calls on a grpc-java channel with a direct executor. */
  static KeyCalls netty(
      CoreLink.Endpoint endpoint, Duration deadline, Optional<MutualTls> tls, Set<String> kinds) {
    var wrap =
        NettyGrpcClient.method(
            CoreKeyService.name,
            "WrapKeys",
            WrapKeysRequest.getDefaultInstance(),
            WrapKeysResponse.getDefaultInstance());
    var unwrap =
        NettyGrpcClient.method(
            CoreKeyService.name,
            "UnwrapKeys",
            UnwrapKeysRequest.getDefaultInstance(),
            UnwrapKeysResponse.getDefaultInstance());
    var rewrap =
        NettyGrpcClient.method(
            CoreKeyService.name,
            "RewrapKeys",
            RewrapKeysRequest.getDefaultInstance(),
            RewrapKeysResponse.getDefaultInstance());
    NettyGrpcClient client =
        NettyGrpcClient.connect(endpoint.host(), endpoint.port(), tls, kinds, deadline);
    return new KeyCalls() {
      @Override
      public CompletionStage<WrapKeysResponse> wrapKeys(WrapKeysRequest request) {
        return client.call(wrap, request);
      }

      @Override
      public CompletionStage<UnwrapKeysResponse> unwrapKeys(UnwrapKeysRequest request) {
        return client.call(unwrap, request);
      }

      @Override
      public CompletionStage<RewrapKeysResponse> rewrapKeys(RewrapKeysRequest request) {
        return client.call(rewrap, request);
      }

      @Override
      public void close() {
        client.close();
      }
    };
  }

  /** Key calls on pekko-grpc's generated client. */
  static KeyCalls pekko(
      ActorSystem<?> system,
      CoreLink.Endpoint endpoint,
      Duration deadline,
      UnaryOperator<GrpcClientSettings> secure) {
    CoreKeyServiceClient client =
        CoreKeyServiceClient.create(
            secure.apply(
                GrpcClientSettings.connectToServiceAt(endpoint.host(), endpoint.port(), system)
                    .withDeadline(deadline)),
            system);
    return new KeyCalls() {
      @Override
      public CompletionStage<WrapKeysResponse> wrapKeys(WrapKeysRequest request) {
        return client.wrapKeys(request);
      }

      @Override
      public CompletionStage<UnwrapKeysResponse> unwrapKeys(UnwrapKeysRequest request) {
        return client.unwrapKeys(request);
      }

      @Override
      public CompletionStage<RewrapKeysResponse> rewrapKeys(RewrapKeysRequest request) {
        return client.rewrapKeys(request);
      }

      @Override
      public void close() {
        client.close();
      }
    };
  }
}
