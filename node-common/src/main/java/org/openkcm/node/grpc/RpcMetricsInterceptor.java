package org.openkcm.node.grpc;

import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import org.openkcm.node.metrics.NodeMetrics;

/**
 * Times every call of the gateway's grpc-java server from its arrival to its status, into {@code
 * openkcm_rpc_duration_seconds} labelled with the method's bare name and the gRPC status code (a
 * bounded set: no tenant, no message text).
 */
public final class RpcMetricsInterceptor implements ServerInterceptor {

  private final NodeMetrics metrics;

  public RpcMetricsInterceptor(NodeMetrics metrics) {
    this.metrics = metrics;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    long start = System.nanoTime();
    String method = call.getMethodDescriptor().getBareMethodName();
    return next.startCall(
        new SimpleForwardingServerCall<>(call) {
          @Override
          public void close(Status status, Metadata trailers) {
            metrics
                .rpc
                .labelValues(method == null ? "unknown" : method, status.getCode().name())
                .observe((System.nanoTime() - start) / 1e9);
            super.close(status, trailers);
          }
        },
        headers);
  }
}
