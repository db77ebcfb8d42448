package org.openkcm.core.reply;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.pattern.StatusReply;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.GrpcErrors;
import org.openkcm.protocol.error.OpenKcmException;

/**
 * How the Core's actors reject a command: a {@link StatusReply#error(String)} whose text is {@code
 * [REASON] message}. A plain string crosses the cluster with the built-in serializer; the edge
 * turns it back into an {@link OpenKcmException} with {@link #parse}. (Still text on the wire: a
 * typed, serializable rejection record is open work of issue 11.)
 */
public final class Rejections {

  private static final Pattern FORM = Pattern.compile("\\[([A-Z0-9_]+)] (.*)", Pattern.DOTALL);

  private Rejections() {}

  public static <T> StatusReply<T> reject(ErrorReason reason, String message) {
    return StatusReply.error("[" + reason.name() + "] " + message);
  }

  public static <T> StatusReply<T> reject(OpenKcmException e) {
    return reject(e.reason(), e.getMessage());
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
    String text = t.getMessage() == null ? "" : t.getMessage();
    Matcher m = FORM.matcher(text);
    if (m.matches()) {
      Optional<ErrorReason> reason = ErrorReason.parse(m.group(1));
      if (reason.isPresent()) {
        return new OpenKcmException(reason.get(), m.group(2));
      }
    }
    return new OpenKcmException(
        ErrorReason.INTERNAL, "internal error (" + t.getClass().getSimpleName() + ")");
  }
}
