package org.openkcm.node.audit;

import java.time.Instant;

/** Where audit records go besides the log line (the persisted trail). Must not block for long. */
public interface AuditSink {

  /**
   * One record: the tenant it concerns ({@code null} for node-wide records), its event name and its
   * JSON text as logged.
   */
  void accept(String tenant, String event, String json);

  /**
   * One record made later than it happened ({@link AuditLog#recordLater}): {@code at} is when it
   * happened. By default the sink's own time of acceptance is kept instead.
   */
  default void accept(String tenant, String event, String json, Instant at) {
    accept(tenant, event, json);
  }
}
