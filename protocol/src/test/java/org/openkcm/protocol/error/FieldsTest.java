package org.openkcm.protocol.error;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class FieldsTest {

  private static OpenKcmException refused(Runnable check) {
    OpenKcmException e = assertThrows(OpenKcmException.class, check::run);
    assertEquals(ErrorReason.INVALID_ARGUMENT, e.reason());
    return e;
  }

  @Test
  void correlationIdsAreShortAndPlain() {
    assertDoesNotThrow(() -> Fields.correlationId("correlation_id", ""));
    assertDoesNotThrow(() -> Fields.correlationId("correlation_id", "req-42:batch/7@gw-1"));
    assertTrue(
        refused(() -> Fields.correlationId("correlation_id", "a\nb"))
            .getMessage()
            .startsWith("correlation_id must be"));
    refused(() -> Fields.correlationId("correlation_id", "x".repeat(129)));
    refused(() -> Fields.correlationId("correlation_id", "\u00fcmlaut"));
  }

  @Test
  void newCorrelationIdsAreVersion4UuidsThatPassTheirOwnCheckAndDiffer() {
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (int i = 0; i < 10_000; i++) {
      String id = Fields.newCorrelationId();
      java.util.UUID uuid = java.util.UUID.fromString(id);
      assertEquals(4, uuid.version(), id);
      assertEquals(2, uuid.variant(), id);
      assertDoesNotThrow(() -> Fields.correlationId("correlation_id", id));
      assertTrue(seen.add(id), "repeated: " + id);
    }
  }

  @Test
  void freeTextHasNoControlCharactersAndABound() {
    assertDoesNotThrow(() -> Fields.text("reason", "Wartung \u2013 Zugang gesperrt", 512));
    assertTrue(
        refused(() -> Fields.text("reason", "a\u0000b", 512))
            .getMessage()
            .startsWith("reason must not"));
    assertTrue(
        refused(() -> Fields.text("reason", "x".repeat(513), 512))
            .getMessage()
            .startsWith("reason is 513 characters long; at most 512"));
    assertTrue(
        refused(() -> Fields.requiredText("share", " ", 10))
            .getMessage()
            .startsWith("share is empty"));
    assertTrue(
        refused(() -> Fields.count("items", 0, 8, "x.max"))
            .getMessage()
            .startsWith("items must hold 1..8"));
  }

  @Test
  void safeEscapesControlCharactersForLogs() {
    assertEquals("a\\u000ab", Fields.safe("a\nb"));
    assertTrue(Fields.safe("y".repeat(500)).endsWith("..."));
  }
}
