package org.openkcm.core.api;

import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.japi.function.Function;
import org.openkcm.node.tls.MutualTls;
import org.openkcm.node.tls.SpiffeId;

/**
 * Carries the caller's verified SPIFFE id from the TLS session to the gRPC services: the listener
 * replaces whatever {@value #HEADER} header a client sent with the id of the certificate it
 * presented in the handshake, so a service reading the header reads what mTLS proved, never what
 * the client claimed.
 */
public final class PeerIdentity {

  public static final String HEADER = "x-openkcm-peer";

  private PeerIdentity() {}

  /**
   * {@code handler}, seeing {@value #HEADER} set from the TLS session (and never from the client).
   */
  public static Function<HttpRequest, CompletionStage<HttpResponse>> stamp(
      Function<HttpRequest, CompletionStage<HttpResponse>> handler) {
    return request -> {
      HttpRequest clean = request.removeHeader(HEADER);
      Optional<SpiffeId> peer =
          request
              .getAttribute(AttributeKeys.sslSession)
              .flatMap(info -> MutualTls.peer(info.getSession()));
      return handler.apply(
          peer.map(id -> (HttpRequest) clean.addHeader(RawHeader.create(HEADER, id.uri())))
              .orElse(clean));
    };
  }

  /**
   * Set by a Core forwarding an operator's write to the tenant's home region: the operator it
   * authenticated. Believed only as {@link OnBehalf} says (forwarded writes, from a peer region's
   * Core, naming an admin).
   */
  public static final String ON_BEHALF = "x-openkcm-on-behalf-of";

  /** The caller's verified identity, or empty on a plaintext listener. */
  public static Optional<SpiffeId> of(Metadata metadata) {
    return metadata.getText(HEADER).map(SpiffeId::parse);
  }
}
