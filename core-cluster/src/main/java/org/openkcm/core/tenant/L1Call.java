package org.openkcm.core.tenant;

import java.util.Map;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.openkcm.core.tenant.TenantEntity.ApproveL1Link;
import org.openkcm.core.tenant.TenantEntity.Onboard;
import org.openkcm.core.tenant.TenantEntity.Revive;
import org.openkcm.core.tenant.TenantState.PendingL1Link;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * Why a tenant entity calls the customer's keystore. One call is in flight at a time ({@link
 * L1Session.Calling}); its answer comes back as one message, {@link TenantEntity.L1Answered}.
 */
sealed interface L1Call {

  String correlationId();

  /** Whether other commands wait for the answer (all but the background re-verification). */
  default boolean holdsCommands() {
    return true;
  }

  /** Wrapping a new L2 with the L1 to be linked at onboarding; answers the wrapped L2. */
  record Onboarding(
      Onboard request, KeyMaterial l2, Map<String, String> l1Context, String correlationId)
      implements L1Call {}

  /** Unwrapping L2 after a start, failover or wipe; answers L2. */
  record Unsealing(String correlationId, long startedNanos) implements L1Call {}

  /** Unwrapping L2 to lift a kill; answers L2. */
  record Reviving(Revive request, String correlationId) implements L1Call {}

  /**
   * The approved re-link: the current L1 gives L2 back, the new one wraps it; answers that blob.
   */
  record Linking(
      ApproveL1Link request,
      PendingL1Link link,
      Map<String, String> l1Context,
      String correlationId)
      implements L1Call {}

  /** Wrapping a new L2 with the current L1 for an L2 rotation; answers the wrapped new L2. */
  record RotatingL2(
      LifecycleProtocol.RotateL2 request,
      KeyMaterial l2,
      Map<String, String> l1Context,
      String correlationId)
      implements L1Call {}

  /** The current L1 unwraps L2 and wraps it again (new key material); answers the new blob. */
  record RewrappingL2(
      LifecycleProtocol.RewrapL2 request, Map<String, String> l1Context, String correlationId)
      implements L1Call {}

  /** Re-verifying that L1 still answers while the keys are in use; answers L2 (then wiped). */
  record Checking(String correlationId, Optional<ActorRef<StatusReply<TenantSummary>>> replyTo)
      implements L1Call {
    @Override
    public boolean holdsCommands() {
      return false;
    }
  }
}
