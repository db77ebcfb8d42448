package org.openkcm.gateway.transport;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.openkcm.protocol.envelope.EnvelopeException;
import org.openkcm.protocol.envelope.Identifiers;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.Fields;
import org.openkcm.protocol.error.GrpcErrors;
import org.openkcm.protocol.error.OpenKcmException;

/**
 * What every application-facing call of the gateway checks first, and how it fails: one error path.
 */
public final class Requests {

  private Requests() {}

  /**
   * Refuses an id ({@code tenant}, {@code service}) that breaks the identifier rules, naming it.
   */
  public static void requireId(String kind, String value) {
    Optional<String> problem = Identifiers.problem(kind, value);
    if (problem.isPresent()) {
      throw new OpenKcmException(ErrorReason.INVALID_ARGUMENT, problem.get());
    }
  }

  /** A failed call with the gRPC status and reason of {@code e}. */
  public static <T> CompletionStage<T> failed(Exception e) {
    if (e instanceof EnvelopeException ee) {
      return CompletableFuture.failedFuture(
          GrpcErrors.toGrpc(new OpenKcmException(ErrorReason.of(ee.reason()), ee.getMessage())));
    }
    return CompletableFuture.failedFuture(GrpcErrors.toGrpc(e));
  }

  /** The caller's correlation id (checked), or a fresh one. */
  public static String cid(String given) {
    Fields.correlationId("correlation_id", given);
    return given.isBlank() ? Fields.newCorrelationId() : given;
  }
}
