package org.openkcm.node.audit;

/** Where audit records go besides the log line (the persisted trail). Must not block for long. */
public interface AuditSink {

  /**
   * One record: the tenant it concerns ({@code null} for node-wide records), its event name and its
   * JSON text as logged.
   */
  void accept(String tenant, String event, String json);
}
