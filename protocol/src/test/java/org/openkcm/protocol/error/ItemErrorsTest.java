package org.openkcm.protocol.error;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.openkcm.protocol.core.v1.ItemError;

class ItemErrorsTest {

  @Test
  void everyReasonSurvivesTheWayThroughAnItemError() {
    for (ErrorReason reason : ErrorReason.values()) {
      OpenKcmException sent = new OpenKcmException(reason, "because " + reason);
      // the Core fails its future; the stream answer carries the item error; the gateway throws
      OpenKcmException seen = ItemErrors.toException(ItemErrors.of(new CompletionException(sent)));
      assertEquals(reason, seen.reason());
      assertEquals("because " + reason, seen.getMessage());
    }
  }

  @Test
  void anUnexpectedFailureLeavesTheCoreAsInternalWithoutItsDetails() {
    ItemError e = ItemErrors.of(new IllegalStateException("secret detail"));
    assertEquals("INTERNAL", e.getReason());
    assertEquals("internal error (IllegalStateException); see the server log", e.getMessage());
  }

  @Test
  void aReasonThisNodeDoesNotKnowBecomesInternalWithTheCoresMessage() {
    OpenKcmException e =
        ItemErrors.toException(
            ItemError.newBuilder().setReason("FROM_A_NEWER_CORE").setMessage("m").build());
    assertEquals(ErrorReason.INTERNAL, e.reason());
    assertEquals("m", e.getMessage());
  }
}
