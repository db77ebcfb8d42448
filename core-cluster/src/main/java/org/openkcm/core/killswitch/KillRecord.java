package org.openkcm.core.killswitch;

import java.time.Instant;
import org.openkcm.core.serialization.CborSerializable;

/** A pulled kill-switch: its scope, why, who, since when. */
public record KillRecord(KillScope scope, String reason, String by, Instant since)
    implements CborSerializable {

  /** The sentence a refused caller reads. */
  public String describe(String tenantId) {
    String what =
        scope instanceof KillScope.Tenant
            ? "tenant " + tenantId + " is killed"
            : "every tenant is killed (" + scope.asString() + " kill-switch)";
    return what + " since " + since + " (reason: " + reason + ", by " + by + ")";
  }

  /** Whether this is a real switch, not a node that has not loaded the switch state yet. */
  public boolean confirmed() {
    return !(scope instanceof KillScope.Unconfirmed);
  }
}
