package org.openkcm.core.console;

import static org.openkcm.core.console.Html.esc;

import org.openkcm.protocol.admin.v1.KillSwitchEntry;
import org.openkcm.protocol.admin.v1.KillSwitchState;

/** The console's kill-switch page: the region's engaged kill-switches, or none. */
final class KillSwitchPage {

  private KillSwitchPage() {}

  static String render(KillSwitchState k, ConsoleSessions.Session s) {
    StringBuilder b = new StringBuilder("<p>Region <code>" + esc(k.getRegion()) + "</code>: ");
    if (k.getEngagedCount() == 0) {
      b.append("no kill-switch is engaged.</p>");
    } else {
      b.append(
          "engaged:</p><table><tr><th>Scope</th><th>Reason</th><th>By</th><th>Since</th></tr>");
      for (KillSwitchEntry e : k.getEngagedList()) {
        b.append("<tr><td>")
            .append(esc(e.getScope()))
            .append("</td><td>")
            .append(esc(e.getReason()))
            .append("</td><td>")
            .append(esc(e.getRequestedBy()))
            .append("</td><td>")
            .append(esc(e.getSince()))
            .append("</td></tr>");
      }
      b.append("</table>");
    }
    return Html.page("Kill-switch", s.identity().uri(), b.toString());
  }
}
