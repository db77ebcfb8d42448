package org.openkcm.node.authz;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.openkcm.node.tls.SpiffeId;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;

/** The authorization decorator of both nodes, on the shipped policies. */
class GuardTest {

  private static final Guard GUARD =
      new Guard(
          Optional.of(
              Authorizer.load(
                  new Authorizer.Settings(
                      List.of("classpath:policies/default.cedar"),
                      Duration.ofMinutes(1),
                      100,
                      Duration.ofHours(1),
                      new Assignments(Map.of("gw-a", Set.of("acme")), Map.of())))));
  private static final Optional<SpiffeId> APP =
      Optional.of(SpiffeId.parse("spiffe://openkcm.local/app/acme/payments"));

  @Test
  void aCallThatNamesNoScopeIsDeniedNotWaivedThrough() {
    OpenKcmException e =
        assertThrows(
            OpenKcmException.class, () -> GUARD.require(APP, "DecryptBatch", List.of(), "c"));
    assertEquals(ErrorReason.PERMISSION_DENIED, e.reason(), e.getMessage());
    // the same caller with a scope it holds passes; one it does not hold is denied
    assertDoesNotThrow(
        () ->
            GUARD.require(
                APP, "DecryptBatch", List.of(Guard.Scope.tenant("acme", "payments")), "c"));
    assertEquals(
        ErrorReason.PERMISSION_DENIED,
        assertThrows(
                OpenKcmException.class,
                () ->
                    GUARD.require(
                        APP,
                        "DecryptBatch",
                        List.of(Guard.Scope.tenant("globex", "payments")),
                        "c"))
            .reason());
    // a malformed tenant or service id is refused before any decision or audit record
    for (Guard.Scope bad :
        List.of(
            Guard.Scope.tenant("ACME; DROP", "payments"),
            Guard.Scope.tenant("x".repeat(64), "payments"),
            Guard.Scope.tenant("acme", "Pay/ments"))) {
      assertEquals(
          ErrorReason.INVALID_ARGUMENT,
          assertThrows(
                  OpenKcmException.class,
                  () -> GUARD.require(APP, "DecryptBatch", List.of(bad), "c"))
              .reason(),
          bad.toString());
    }
    // without an authorizer (plaintext development listeners) nothing is checked
    assertDoesNotThrow(() -> Guard.OPEN.require(APP, "DecryptBatch", List.of(), "c"));
  }
}
