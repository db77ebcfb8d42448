package org.openkcm.core.tenant;

import java.util.Optional;

/**
 * This node's knowledge of a region/global kill-switch in force (tenant kills live in the tenant
 * itself).
 */
public interface KillSwitchView {

  KillSwitchView NONE = Optional::empty;

  Optional<TenantEntity.KillRecord> engaged();
}
