package org.openkcm.node.audit;

import java.time.Instant;
import java.util.List;

/**
 * Where audit records go besides the log line (the persisted trail). {@link AuditLog} hands every
 * record to its sinks on one thread ({@code openkcm-audit}), in batches, in the order the records
 * were made; a sink may take its time there (the callers do not wait for it until the audit queue
 * is full).
 */
public interface AuditSink {

  /** One record: its tenant ({@code null}: node-wide), event name, JSON text and instant. */
  record Entry(String tenant, String event, String json, Instant at) {}

  /** One record, made now. */
  void accept(String tenant, String event, String json);

  /** A batch of records, in order. By default one {@link #accept} each (their instants dropped). */
  default void acceptAll(List<Entry> batch) {
    for (Entry e : batch) {
      accept(e.tenant(), e.event(), e.json());
    }
  }
}
