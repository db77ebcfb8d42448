package org.openkcm.core.console;

import static org.openkcm.core.console.Html.esc;

import com.typesafe.config.Config;
import java.util.Optional;
import org.openkcm.node.audit.AuditReader;

/**
 * The console's audit search: a tenant's persisted trail (newest first, at most 200 records,
 * filtered by event), with the chain's verdict; read from the trail's database ({@code
 * openkcm.audit.trail}).
 */
final class AuditPage {

  private final Config root;
  private final Config audit;

  /** {@code root}: the node's configuration ({@code openkcm.audit.trail}, {@code openkcm.tls}). */
  AuditPage(Config root) {
    this.root = root;
    this.audit = root.getConfig("openkcm.audit.trail");
  }

  String render(ConsoleSessions.Session s, Optional<String> tenant, Optional<String> event) {
    StringBuilder b = new StringBuilder();
    b.append("<form method=\"get\" action=\"/console/audit\">")
        .append(Html.field("tenant", "Tenant", true))
        .append(Html.field("event", "Event (e.g. tenant.kill; empty: all)", false))
        .append("<button type=\"submit\">Search</button></form>");
    if (tenant.isEmpty()) {
      return Html.page("Audit", s.identity().uri(), b.toString());
    }
    if (!audit.getBoolean("enabled")) {
      b.append(
          "<p>The persisted audit trail is off on this node (openkcm.audit.trail.enabled).</p>");
      return Html.page("Audit", s.identity().uri(), b.toString());
    }
    try (AuditReader r = AuditReader.open(audit)) {
      if (!r.exists(tenant.get())) {
        b.append("<p>No audit records of ").append(esc(tenant.get())).append(".</p>");
      } else {
        var verdict = r.verify(tenant.get(), org.openkcm.node.audit.AuditPolicies.forNode(root));
        b.append("<p id=\"verdict\">Chain: ")
            .append(
                verdict.ok()
                    ? "intact"
                    : "<span class=\"error\">" + esc(verdict.firstProblem().get()) + "</span>")
            .append(" (")
            .append(verdict.records())
            .append(" records, ")
            .append(verdict.signedCheckpoints())
            .append(" signed checkpoints)</p>");
        b.append("<table id=\"audit\"><tr><th>#</th><th>Record</th></tr>");
        for (AuditReader.Line line : r.newest(tenant.get(), Optional.empty(), event, 200)) {
          b.append("<tr><td>")
              .append(line.seq())
              .append("</td><td><code>")
              .append(esc(line.json()))
              .append("</code></td></tr>");
        }
        b.append("</table>");
      }
    } catch (java.sql.SQLException e) {
      b.append("<p class=\"error\">The audit database is not reachable: ")
          .append(esc(e.getMessage()))
          .append("</p>");
    }
    return Html.page("Audit of " + tenant.get(), s.identity().uri(), b.toString());
  }
}
