package org.openkcm.core.reply;

import org.apache.pekko.pattern.StatusReply;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.GrpcErrors;
import org.openkcm.protocol.error.OpenKcmException;

/**
 * How the Core's actors reject a command: a {@link StatusReply#error(Throwable)} carrying an {@link
 * OpenKcmException} (its {@link ErrorReason} and message), which crosses the cluster typed through
 * {@link org.openkcm.core.serialization.RejectionSerializer}. The edge turns a failed ask back into
 * that exception with {@link #parse}.
 */
public final class Rejections {

  private Rejections() {}

  public static <T> StatusReply<T> reject(ErrorReason reason, String message) {
    return StatusReply.error(new OpenKcmException(reason, message));
  }

  public static <T> StatusReply<T> reject(OpenKcmException e) {
    return StatusReply.error(e);
  }

  /**
   * Turns a failed ask back into its named error (TIMEOUT, or INTERNAL when it is not a rejection).
   */
  public static OpenKcmException parse(Throwable failure) {
    Throwable t = GrpcErrors.unwrap(failure);
    if (t instanceof OpenKcmException e) {
      return e;
    }
    if (t instanceof java.util.concurrent.TimeoutException) {
      return new OpenKcmException(ErrorReason.TIMEOUT, "the tenant did not answer in time; retry");
    }
    return new OpenKcmException(
        ErrorReason.INTERNAL, "internal error (" + t.getClass().getSimpleName() + ")");
  }
}
