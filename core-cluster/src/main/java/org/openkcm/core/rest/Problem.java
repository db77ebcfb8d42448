package org.openkcm.core.rest;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.Status;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;

/**
 * RFC 9457 problem details ({@code application/problem+json}) carrying OpenKCM's stable reason
 * code: {@code {"type", "title", "status", "detail", "reason"}}.
 */
final class Problem {

  static final ContentType PROBLEM_JSON =
      MediaTypes.applicationWithFixedCharset(
              "problem+json", org.apache.pekko.http.javadsl.model.HttpCharsets.UTF_8)
          .toContentType();

  private static final ObjectMapper JSON = new ObjectMapper();

  private Problem() {}

  static HttpResponse of(OpenKcmException e) {
    return of(httpStatus(e.reason()), e.reason(), String.valueOf(e.getMessage()));
  }

  /** A problem with its own status (a route that does not exist is 404 whatever its reason). */
  static HttpResponse of(int status, ErrorReason reason, String detail) {
    OpenKcmException e = new OpenKcmException(reason, detail);
    ObjectNode body = JSON.createObjectNode();
    body.put(
        "type",
        "https://openkcm.org/problems/" + e.reason().name().toLowerCase().replace('_', '-'));
    body.put("title", e.reason().name());
    body.put("status", status);
    body.put("detail", String.valueOf(e.getMessage()));
    body.put("reason", e.reason().name());
    return HttpResponse.create()
        .withStatus(status)
        .withEntity(
            PROBLEM_JSON, body.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  static HttpResponse of(ErrorReason reason, String detail) {
    return of(new OpenKcmException(reason, detail));
  }

  /** The HTTP status for a reason, from its gRPC code. */
  static int httpStatus(ErrorReason reason) {
    Status.Code code = reason.grpcCode();
    return switch (code) {
      case INVALID_ARGUMENT, OUT_OF_RANGE -> 400;
      case UNAUTHENTICATED -> 401;
      case PERMISSION_DENIED -> 403;
      case NOT_FOUND -> 404;
      case ALREADY_EXISTS, ABORTED, FAILED_PRECONDITION -> 409;
      case RESOURCE_EXHAUSTED -> 429;
      case UNIMPLEMENTED -> 501;
      case UNAVAILABLE -> 503;
      case DEADLINE_EXCEEDED -> 504;
      default -> 500;
    };
  }

  static final ContentType JSON_TYPE = ContentTypes.APPLICATION_JSON;
}
