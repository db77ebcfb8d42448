package org.openkcm.gateway.kmip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.openkcm.kmip.message.KmipException;
import org.openkcm.kmip.message.ResultReason;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;

/** The chain's refusals as KMIP clients see them: the KMIP reason, with OpenKCM's reason named. */
class ChainKeyProtectorTest {

  private static KmipException as(ErrorReason r) {
    return ChainKeyProtector.kmip(new OpenKcmException(r, "why"));
  }

  @Test
  void killsAndRevocationsArePermissionDenied() {
    for (ErrorReason r :
        new ErrorReason[] {
          ErrorReason.TENANT_KILLED,
          ErrorReason.L1_REVOKED,
          ErrorReason.TENANT_OFFBOARDED,
          ErrorReason.PERMISSION_DENIED,
          ErrorReason.SERVICE_NOT_FOUND
        }) {
      KmipException k = as(r);
      assertEquals(ResultReason.PERMISSION_DENIED, k.reason(), r.name());
      assertTrue(k.getMessage().startsWith("[" + r.name() + "]"), k.getMessage());
    }
  }

  @Test
  void tamperingIsACryptographicFailureAndOutagesAGeneralOne() {
    assertEquals(
        ResultReason.CRYPTOGRAPHIC_FAILURE,
        as(ErrorReason.ENVELOPE_AUTHENTICATION_FAILED).reason());
    assertEquals(ResultReason.GENERAL_FAILURE, as(ErrorReason.CORE_UNAVAILABLE).reason());
    assertEquals(ResultReason.GENERAL_FAILURE, as(ErrorReason.L1_UNAVAILABLE).reason());
  }
}
