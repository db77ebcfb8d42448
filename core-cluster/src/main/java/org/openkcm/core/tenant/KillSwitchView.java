package org.openkcm.core.tenant;

import java.util.Optional;
import org.openkcm.core.killswitch.KillRecord;

/**
 * This node's knowledge of a region/global kill-switch in force (tenant kills live in the tenant
 * itself). Before the node knows, it answers a record of scope {@link
 * org.openkcm.core.killswitch.KillScope.Unconfirmed}: fail closed.
 */
public interface KillSwitchView {

  KillSwitchView NONE = Optional::empty;

  Optional<KillRecord> engaged();
}
