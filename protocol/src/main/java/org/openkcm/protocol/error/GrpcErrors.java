package org.openkcm.protocol.error;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.grpc.javadsl.MetadataBuilder;

/**
 * The one mapping between {@link OpenKcmException} and gRPC: servers answer a status whose code
 * comes from the reason, whose description is the human message, and whose trailer {@value
 * #REASON_KEY} holds the reason's name; clients turn such a failure back into an {@link
 * OpenKcmException}.
 */
public final class GrpcErrors {

  public static final String REASON_KEY = "openkcm-reason";
  private static final Metadata.Key<String> REASON_TRAILER =
      Metadata.Key.of(REASON_KEY, Metadata.ASCII_STRING_MARSHALLER);

  private GrpcErrors() {}

  /** Server side: the exception to fail a gRPC call with. */
  public static GrpcServiceException toGrpc(OpenKcmException e) {
    Status status = Status.fromCode(e.reason().grpcCode()).withDescription(e.getMessage());
    return new GrpcServiceException(
        status, new MetadataBuilder().addText(REASON_KEY, e.reason().name()).build());
  }

  /** Server side: any failure of a call, with unexpected ones hidden behind INTERNAL. */
  public static GrpcServiceException toGrpc(Throwable failure) {
    Throwable t = unwrap(failure);
    if (t instanceof OpenKcmException e) {
      return toGrpc(e);
    }
    if (t instanceof GrpcServiceException g) {
      return g;
    }
    if (t instanceof TimeoutException) {
      return toGrpc(
          new OpenKcmException(ErrorReason.TIMEOUT, "the request timed out inside OpenKCM; retry"));
    }
    return toGrpc(
        new OpenKcmException(
            ErrorReason.INTERNAL,
            "internal error (" + t.getClass().getSimpleName() + "); see the server log"));
  }

  /**
   * Server side, for grpc-java servers: the same status, description and reason trailer as {@link
   * #toGrpc(Throwable)} gives pekko-grpc.
   */
  public static StatusRuntimeException toStatusException(Throwable failure) {
    GrpcServiceException g = toGrpc(failure);
    Metadata trailers = new Metadata();
    g.getMetadata().getText(REASON_KEY).ifPresent(reason -> trailers.put(REASON_TRAILER, reason));
    return new StatusRuntimeException(g.status(), trailers);
  }

  /** Client side: the reason and message of a failed call. */
  public static OpenKcmException fromGrpc(Throwable failure) {
    Throwable t = unwrap(failure);
    if (t instanceof OpenKcmException e) {
      return e;
    }
    if (t instanceof GrpcServiceException g) { // our own server side, before it left the node
      String message =
          g.getStatus().getDescription() == null
              ? g.getStatus().getCode().name()
              : g.getStatus().getDescription();
      return g.getMetadata()
          .getText(REASON_KEY)
          .flatMap(ErrorReason::parse)
          .map(r -> new OpenKcmException(r, message))
          .orElseGet(() -> new OpenKcmException(ErrorReason.INTERNAL, message));
    }
    if (t instanceof StatusRuntimeException sre) {
      Status status = sre.getStatus();
      String message =
          status.getDescription() == null ? status.getCode().name() : status.getDescription();
      Metadata trailers = sre.getTrailers();
      String reason = trailers == null ? null : trailers.get(REASON_TRAILER);
      return ErrorReason.parse(reason)
          .map(r -> new OpenKcmException(r, message))
          .orElseGet(
              () ->
                  new OpenKcmException(
                      status.getCode() == Status.Code.UNAVAILABLE
                          ? ErrorReason.CORE_UNAVAILABLE
                          : status.getCode() == Status.Code.DEADLINE_EXCEEDED
                              ? ErrorReason.TIMEOUT
                              : ErrorReason.INTERNAL,
                      status.getCode() + ": " + message));
    }
    if (t instanceof TimeoutException) {
      return new OpenKcmException(ErrorReason.TIMEOUT, "no answer in time: " + t.getMessage());
    }
    return new OpenKcmException(
        ErrorReason.INTERNAL, t.getClass().getSimpleName() + ": " + t.getMessage());
  }

  /** Strips CompletionException/ExecutionException wrappers. */
  public static Throwable unwrap(Throwable t) {
    Throwable cur = t;
    while ((cur instanceof CompletionException || cur instanceof ExecutionException)
        && cur.getCause() != null) {
      cur = cur.getCause();
    }
    return cur;
  }
}
