package org.openkcm.core.tenant;

import org.apache.pekko.pattern.StatusReply;
import org.openkcm.core.keystore.L1KeystoreException;
import org.openkcm.core.reply.Rejections;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;

/**
 * How tenant entities reject a command ({@link Rejections}, the Core-wide form) and how they name a
 * keystore's failure.
 */
public final class TenantRejections {

  private TenantRejections() {}

  static <T> StatusReply<T> reject(ErrorReason reason, String message) {
    return Rejections.reject(reason, message);
  }

  static <T> StatusReply<T> reject(OpenKcmException e) {
    return Rejections.reject(e);
  }

  /**
   * Maps a keystore failure: the customer said no (L1_REVOKED), or we could not ask
   * (L1_UNAVAILABLE); while linking a key (onboarding, link-l1) every refusal is L1_REJECTED naming
   * its reason.
   */
  static OpenKcmException fromKeystore(
      Throwable failure, String tenantId, String l1Reference, boolean linking) {
    Throwable t = org.openkcm.protocol.error.GrpcErrors.unwrap(failure);
    if (t instanceof L1KeystoreException e) {
      String where = "L1 " + l1Reference + " of tenant " + tenantId;
      if (e.kind() == L1KeystoreException.Kind.UNAVAILABLE) {
        return new OpenKcmException(
            ErrorReason.L1_UNAVAILABLE,
            where + ": keystore unreachable (" + e.getMessage() + "); retry later");
      }
      if (linking) {
        // Nothing is linked or persisted: say exactly why the key cannot serve as an L1.
        String why =
            switch (e.kind()) {
              case KEY_NOT_FOUND -> "key not found";
              case KEY_DISABLED -> "key disabled";
              case ACCESS_DENIED -> "access denied";
              case INVALID_CIPHERTEXT -> "round trip through the key failed";
              default -> "unusable reference";
            };
        return new OpenKcmException(
            ErrorReason.L1_REJECTED,
            where + " cannot be linked: " + why + " (" + e.getMessage() + ")");
      }
      if (e.kind() == L1KeystoreException.Kind.UNSUPPORTED_REFERENCE) {
        return new OpenKcmException(ErrorReason.L1_UNAVAILABLE, where + ": " + e.getMessage());
      }
      return new OpenKcmException(
          ErrorReason.L1_REVOKED, where + " refused by the customer's keystore: " + e.getMessage());
    }
    return new OpenKcmException(
        ErrorReason.L1_UNAVAILABLE,
        "L1 "
            + l1Reference
            + " of tenant "
            + tenantId
            + ": keystore call failed ("
            + t.getClass().getSimpleName()
            + "); retry later");
  }
}
