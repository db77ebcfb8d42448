package org.openkcm.core.killswitch;

import java.util.Optional;

/**
 * This node's knowledge of a region/global kill-switch in force (tenant kills live in the tenant
 * itself). Before the node knows, it answers a record of scope {@link KillScope.Unconfirmed}: fail
 * closed.
 */
public interface KillSwitchView {

  KillSwitchView NONE = Optional::empty;

  Optional<KillRecord> engaged();
}
