package org.openkcm.core.console;

import static org.openkcm.core.console.Html.esc;

import java.util.List;
import org.openkcm.protocol.admin.v1.TenantInfo;

/** The console's list of tenants: status, L1 key, L2 version, services, unsealed or not. */
final class TenantListPage {

  private TenantListPage() {}

  /** {@code tenants} sorted by id. */
  static String render(List<TenantInfo> tenants, ConsoleSessions.Session s) {
    StringBuilder b = new StringBuilder();
    b.append("<table id=\"tenants\"><thead><tr><th>Tenant</th><th>Status</th><th>L1 key</th>")
        .append("<th>L2</th><th>Services</th><th>Unsealed</th></tr></thead><tbody>");
    for (TenantInfo t : tenants) {
      b.append("<tr><td><a href=\"/console/tenants/")
          .append(esc(t.getTenantId()))
          .append("\">")
          .append(esc(t.getTenantId()))
          .append("</a></td><td class=\"")
          .append(esc(t.getStatus()))
          .append("\">")
          .append(esc(t.getStatus()))
          .append("</td><td><code>")
          .append(esc(t.getL1Reference()))
          .append("</code></td><td>v")
          .append(t.getL2Version())
          .append("</td><td>")
          .append(t.getServicesCount())
          .append("</td><td>")
          .append(t.getUnsealed() ? "yes" : "no")
          .append("</td></tr>");
    }
    b.append("</tbody></table>");
    if (tenants.isEmpty()) {
      b.append("<p>No tenants yet. <a href=\"/console/onboard\">Onboard one</a>.</p>");
    }
    return Html.page("Tenants", s.identity().uri(), b.toString());
  }
}
