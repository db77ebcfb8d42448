package org.openkcm.protocol.error;

import org.openkcm.protocol.core.v1.ItemError;

/**
 * The one mapping between a failed call and the {@link ItemError} that stands for it where a status
 * cannot: in a stream answer, or for one item of a batch. Both directions keep the reason and the
 * human message, so a caller sees the same failure whichever way the Core answered.
 */
public final class ItemErrors {

  private ItemErrors() {}

  /** The Core's side: {@code failure} as an item error, unexpected failures as INTERNAL. */
  public static ItemError of(Throwable failure) {
    OpenKcmException e = GrpcErrors.fromGrpc(GrpcErrors.toStatusException(failure));
    return ItemError.newBuilder().setReason(e.reason().name()).setMessage(e.getMessage()).build();
  }

  /**
   * The gateway's side: the exception the unary call would have failed with. A reason this node
   * does not know (a newer Core) becomes INTERNAL with the Core's message.
   */
  public static OpenKcmException toException(ItemError error) {
    return new OpenKcmException(
        ErrorReason.parse(error.getReason()).orElse(ErrorReason.INTERNAL), error.getMessage());
  }
}
