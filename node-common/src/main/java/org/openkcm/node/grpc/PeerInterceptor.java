package org.openkcm.node.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.util.Optional;
import org.openkcm.node.tls.MutualTls;
import org.openkcm.node.tls.SpiffeId;

/** Puts the caller's verified SPIFFE id (from the TLS session) into the call's {@link Context}. */
public final class PeerInterceptor implements ServerInterceptor {

  /** The caller's identity while a call is handled; absent on a plaintext listener. */
  public static final Context.Key<SpiffeId> PEER = Context.key("openkcm-peer");

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    Optional<SpiffeId> peer =
        MutualTls.peer(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
    return peer.isEmpty()
        ? next.startCall(call, headers)
        : Contexts.interceptCall(
            Context.current().withValue(PEER, peer.get()), call, headers, next);
  }
}
