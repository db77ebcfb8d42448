package org.openkcm.core.rest;

import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.openkcm.protocol.error.ErrorReason;

/**
 * Whether a write to the REST API may come from where it comes from: not from another site's page
 * in a browser holding an admin certificate, and not with a body an HTML form could send.
 */
final class WriteOrigin {

  private WriteOrigin() {}

  /**
   * A write a browser may have been made to send from another site (CSRF with a browser-held admin
   * certificate): refused when its {@code Sec-Fetch-Site} is not same-origin or none, or its {@code
   * Origin} is not this listener's. A body that is not {@code application/json} is refused (415):
   * HTML forms can post text/plain, urlencoded and multipart bodies across sites without asking.
   * Clients that are not browsers (the CLI, curl, SDKs) send neither header.
   */
  static java.util.Optional<HttpResponse> refused(HttpRequest request, boolean get) {
    if (get) {
      return java.util.Optional.empty();
    }
    java.util.Optional<String> site =
        request.getHeader("Sec-Fetch-Site").map(h -> h.value().trim().toLowerCase());
    if (site.isPresent() && !site.get().equals("same-origin") && !site.get().equals("none")) {
      return java.util.Optional.of(
          Problem.of(
              403,
              ErrorReason.PERMISSION_DENIED,
              "a cross-site request (Sec-Fetch-Site: "
                  + org.openkcm.protocol.error.Fields.safe(site.get())
                  + ") may not change anything"));
    }
    java.util.Optional<String> origin = request.getHeader("Origin").map(h -> h.value().trim());
    if (origin.isPresent()) {
      // the origin's host and port must be those the request was sent to (its Host)
      String own =
          request
              .getHeader("Host")
              .map(h -> h.value().trim())
              .orElse(request.getUri().host().address() + ":" + request.getUri().port());
      String given = origin.get().replaceFirst("/$", "");
      String authority = given.replaceFirst("^https?://", "");
      if (authority.equals(given)
          || !withoutDefaultPort(authority).equalsIgnoreCase(withoutDefaultPort(own))) {
        return java.util.Optional.of(
            Problem.of(
                403,
                ErrorReason.PERMISSION_DENIED,
                "a request from another origin ("
                    + org.openkcm.protocol.error.Fields.safe(given)
                    + ") may not change anything"));
      }
    }
    if (!request.entity().isKnownEmpty()
        && !request
            .entity()
            .getContentType()
            .mediaType()
            .equals(org.apache.pekko.http.javadsl.model.MediaTypes.APPLICATION_JSON)) {
      return java.util.Optional.of(
          Problem.of(
              415,
              ErrorReason.INVALID_ARGUMENT,
              "a request body must be application/json, was "
                  + request.entity().getContentType().mediaType()));
    }
    return java.util.Optional.empty();
  }

  /** {@code host:443} as {@code host} (HTTP/2 requests carry no Host header, their URI a port). */
  private static String withoutDefaultPort(String authority) {
    return authority.replaceFirst(":443$", "");
  }
}
