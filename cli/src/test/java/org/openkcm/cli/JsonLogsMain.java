package org.openkcm.cli;

import org.openkcm.node.audit.AuditLog;
import org.slf4j.LoggerFactory;

/** Logs one ordinary line and one audit record, for {@link JsonLogsTest} (run in its own JVM). */
public final class JsonLogsMain {
  private JsonLogsMain() {}

  public static void main(String[] args) {
    LoggerFactory.getLogger("org.openkcm.core.CoreNode").info("node started");
    AuditLog.record("datakey.generate", "tenant", "acme", "cid", "c-7f3a", "outcome", "OK");
  }
}
