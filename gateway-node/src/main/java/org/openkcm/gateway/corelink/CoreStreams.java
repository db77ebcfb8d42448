package org.openkcm.gateway.corelink;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.Predicate;
import org.openkcm.gateway.corelink.CoreLink.Endpoint;
import org.openkcm.node.grpc.NettyGrpcClient;
import org.openkcm.protocol.core.v1.CoreKeyService;
import org.openkcm.protocol.core.v1.ItemError;
import org.openkcm.protocol.core.v1.UnwrapKeysRequest;
import org.openkcm.protocol.core.v1.UnwrapKeysResponse;
import org.openkcm.protocol.core.v1.WrapKeysRequest;
import org.openkcm.protocol.core.v1.WrapKeysResponse;
import org.openkcm.protocol.error.ItemErrors;

/**
 * The streaming half of the Core link ({@code openkcm.gateway.core.streaming = on}): one WrapStream
 * and one UnwrapStream ({@link CoreStream}) per Core node's key listener, each on its own channel
 * with keepalive. A request gets its call id while it is built (no copy per call), and an answer
 * that carries a refusal ({@code failure}) fails the call as the unary call would have.
 */
final class CoreStreams implements AutoCloseable {

  /** Calls a stream lets wait for their answers before it refuses more (CORE_UNAVAILABLE). */
  private static final int BUFFER = 1024;

  private final List<NettyGrpcClient> channels;
  private final List<CoreStream<WrapKeysRequest, WrapKeysResponse>> wraps = new ArrayList<>();
  private final List<CoreStream<UnwrapKeysRequest, UnwrapKeysResponse>> unwraps = new ArrayList<>();

  /**
   * @param keyEndpoints the Core nodes' key listeners, in the link's order
   * @param channel the channel of one endpoint (with keepalive)
   * @param timeout how long a call waits for its answer before the stream counts as broken
   */
  CoreStreams(
      List<Endpoint> keyEndpoints, Function<Endpoint, NettyGrpcClient> channel, Duration timeout) {
    this.channels = keyEndpoints.stream().map(channel).toList();
    var wrapMethod =
        NettyGrpcClient.bidiMethod(
            CoreKeyService.name,
            "WrapStream",
            WrapKeysRequest.getDefaultInstance(),
            WrapKeysResponse.getDefaultInstance());
    var unwrapMethod =
        NettyGrpcClient.bidiMethod(
            CoreKeyService.name,
            "UnwrapStream",
            UnwrapKeysRequest.getDefaultInstance(),
            UnwrapKeysResponse.getDefaultInstance());
    for (int i = 0; i < keyEndpoints.size(); i++) {
      wraps.add(
          new CoreStream<>(
              keyEndpoints.get(i) + " (WrapStream)",
              channels.get(i),
              wrapMethod,
              WrapKeysResponse::getCallId,
              BUFFER,
              timeout));
      unwraps.add(
          new CoreStream<>(
              keyEndpoints.get(i) + " (UnwrapStream)",
              channels.get(i),
              unwrapMethod,
              UnwrapKeysResponse::getCallId,
              BUFFER,
              timeout));
    }
  }

  /**
   * WrapKeys of {@code request} on node {@code node}'s stream. The builder gets the call id and is
   * built here (once per attempt: a failover builds it again for the next node).
   */
  CompletionStage<WrapKeysResponse> wrap(int node, WrapKeysRequest.Builder request) {
    return refusalsFailed(
        wraps.get(node).call(id -> request.setCallId(id).build()),
        WrapKeysResponse::hasFailure,
        WrapKeysResponse::getFailure);
  }

  /** UnwrapKeys of {@code request} on node {@code node}'s stream (as {@link #wrap}). */
  CompletionStage<UnwrapKeysResponse> unwrap(int node, UnwrapKeysRequest.Builder request) {
    return refusalsFailed(
        unwraps.get(node).call(id -> request.setCallId(id).build()),
        UnwrapKeysResponse::hasFailure,
        UnwrapKeysResponse::getFailure);
  }

  /** {@code answer}, failed as the unary call would have been when it carries a refusal. */
  private static <R> CompletionStage<R> refusalsFailed(
      CompletionStage<R> answer, Predicate<R> refused, Function<R, ItemError> refusal) {
    return answer.thenApply(
        a -> {
          if (refused.test(a)) {
            throw ItemErrors.toException(refusal.apply(a));
          }
          return a;
        });
  }

  @Override
  public void close() {
    wraps.forEach(CoreStream::close);
    unwraps.forEach(CoreStream::close);
    channels.forEach(NettyGrpcClient::close);
  }
}
