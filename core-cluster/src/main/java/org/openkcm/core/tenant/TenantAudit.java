package org.openkcm.core.tenant;

import org.openkcm.node.audit.AuditLog;

/**
 * The audit records of one tenant: every record carries the tenant's id first (see {@link
 * AuditLog}).
 */
final class TenantAudit {

  private final String tenantId;

  TenantAudit(String tenantId) {
    this.tenantId = tenantId;
  }

  /** Records {@code event} for this tenant with {@code fields} as name, value, name, value, … */
  void record(String event, Object... fields) {
    Object[] all = new Object[fields.length + 2];
    all[0] = "tenant";
    all[1] = tenantId;
    System.arraycopy(fields, 0, all, 2, fields.length);
    AuditLog.record(event, all);
  }
}
