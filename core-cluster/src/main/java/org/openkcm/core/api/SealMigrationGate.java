package org.openkcm.core.api;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.openkcm.node.audit.AuditLog;
import org.openkcm.node.tls.SpiffeId;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;

/**
 * The seal migration ({@code admin migrate-seal}: seals whatever unsealed blob it finds) is no
 * standing permission: it runs only while the node was started with {@code
 * openkcm.core.seal.migration = on}, and, with identities (mTLS), only when a second identity asks
 * for it within {@code window} of the first (four eyes); the approval is used up by the migration
 * it lets through, and approves only the same scope (one tenant, or all). Kept on the node that
 * answers (the CLI talks to one Core): the two runs go to the same Core.
 */
final class SealMigrationGate {

  /**
   * The first identity's request (for {@code scope}: a tenant, "" for all), waiting for a second.
   */
  private record Request(SpiffeId by, Instant at, String scope) {}

  private final boolean enabled;
  private final Duration window;
  private final Clock clock;
  private Request pending;

  SealMigrationGate(boolean enabled, Duration window, Clock clock) {
    this.enabled = enabled;
    this.window = window;
    this.clock = clock;
  }

  /**
   * Whether {@code caller} may run the migration now: empty when it may (an approval is then used
   * up), the first identity's answer when a second must follow; throws when migrations are off.
   */
  synchronized Optional<String> admit(Optional<SpiffeId> caller) {
    return admit(caller, "");
  }

  /**
   * As {@link #admit(Optional)} for a migration of {@code scope} (a tenant id, "" for every
   * tenant): the second identity approves exactly what the first asked for.
   */
  synchronized Optional<String> admit(Optional<SpiffeId> caller, String scope) {
    if (!enabled) {
      throw new OpenKcmException(
          ErrorReason.PERMISSION_DENIED,
          "the seal migration is off on this node: start it with openkcm.core.seal.migration = on"
              + " for the one-time migration, then turn it off again");
    }
    if (caller.isEmpty()) {
      return Optional.empty(); // plaintext (tests, development): no identities to count
    }
    Instant now = clock.instant();
    if (pending != null
        && !pending.by().equals(caller.get())
        && pending.scope().equals(scope)
        && !now.isAfter(pending.at().plus(window))) {
      AuditLog.record(
          "seal.migration-approved",
          "requested_by",
          pending.by().uri(),
          "approved_by",
          caller.get().uri());
      pending = null; // used up
      return Optional.empty();
    }
    pending = new Request(caller.get(), now, scope);
    AuditLog.record("seal.migration-requested", "by", caller.get().uri());
    return Optional.of(
        "seal migration of "
            + (scope.isEmpty() ? "every tenant" : "tenant " + scope)
            + " requested by "
            + caller.get().uri()
            + ": another identity must run the same command within "
            + window.toMinutes()
            + " minutes (four eyes); nothing was changed");
  }
}
