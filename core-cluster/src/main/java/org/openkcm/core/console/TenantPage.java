package org.openkcm.core.console;

import static org.openkcm.core.console.Html.esc;

import java.util.Optional;
import org.openkcm.protocol.admin.v1.ServiceInfo;
import org.openkcm.protocol.admin.v1.TenantInfo;

/**
 * The console's page of one tenant: status, L1 key, L2 version, unsealed or not, a kill's reason, a
 * pending L1 re-link to approve, its services with their L3 versions (rotate each), and the actions
 * (check L1, kill with a reason or revive); {@code done} says what the last action did.
 */
final class TenantPage {

  private TenantPage() {}

  static String render(String id, TenantInfo t, ConsoleSessions.Session s, Optional<String> done) {
    StringBuilder b = new StringBuilder();
    done.ifPresent(
        d -> {
          String said =
              switch (d) {
                case "onboarded" -> "Onboarded.";
                case "kill" -> "Killed: its keys are wiped everywhere.";
                case "revive" -> "Revived.";
                case "check-l1" -> "The L1 key answered.";
                case "rotate" -> "Rotated: a new active L3 version.";
                case "approve-l1" -> "Re-link approved.";
                default -> d;
              };
          boolean ok = !said.equals(d);
          b.append("<p role=\"status\" id=\"done\"")
              .append(ok ? "" : " class=\"error\"")
              .append(">")
              .append(esc(said))
              .append("</p>");
        });
    b.append("<dl><dt>Status</dt><dd id=\"status\" class=\"")
        .append(esc(t.getStatus()))
        .append("\">")
        .append(esc(t.getStatus()))
        .append("</dd><dt>L1 key</dt><dd><code>")
        .append(esc(t.getL1Reference()))
        .append("</code></dd><dt>L2 version</dt><dd>v")
        .append(t.getL2Version())
        .append("</dd><dt>Unsealed</dt><dd>")
        .append(t.getUnsealed() ? "yes" : "no")
        .append("</dd>");
    if (!t.getKillReason().isEmpty()) {
      b.append("<dt>Killed</dt><dd>")
          .append(
              esc(t.getKillReason() + " — by " + t.getKilledBy() + " since " + t.getKilledSince()))
          .append("</dd>");
    }
    if (!t.getPendingL1LinkId().isEmpty()) {
      b.append("<dt>Pending L1 re-link</dt><dd id=\"pending\">to <code>")
          .append(esc(t.getPendingL1Reference()))
          .append("</code>, requested by ")
          .append(esc(t.getPendingL1RequestedBy()))
          .append(
              Html.form(
                  "/console/tenants/" + id + "/approve-l1",
                  s.csrf(),
                  "<input type=\"hidden\" name=\"requestId\" value=\""
                      + esc(t.getPendingL1LinkId())
                      + "\">",
                  "Approve the re-link"))
          .append("</dd>");
    }
    b.append("</dl><h2>Services</h2><table><tr><th>Service</th><th>L3 version</th>")
        .append("<th>Versions</th><th></th></tr>");
    for (ServiceInfo svc : t.getServicesList()) {
      StringBuilder versions = new StringBuilder();
      svc.getVersionsList()
          .forEach(
              v ->
                  versions
                      .append("v")
                      .append(v.getVersion())
                      .append(" ")
                      .append(esc(v.getState()))
                      .append("<br>"));
      b.append("<tr><td>")
          .append(esc(svc.getServiceId()))
          .append("</td><td>v")
          .append(svc.getL3Version())
          .append("</td><td>")
          .append(versions)
          .append("</td><td>")
          .append(
              Html.form(
                  "/console/tenants/" + id + "/rotate",
                  s.csrf(),
                  "<input type=\"hidden\" name=\"serviceId\" value=\""
                      + esc(svc.getServiceId())
                      + "\">",
                  "Rotate " + svc.getServiceId()))
          .append("</td></tr>");
    }
    b.append("</table><h2>Actions</h2>");
    b.append(
        Html.form("/console/tenants/" + id + "/check-l1", s.csrf(), "", "Check the L1 key now"));
    if (t.getStatus().equals("killed")) {
      b.append(Html.form("/console/tenants/" + id + "/revive", s.csrf(), "", "Revive"));
    } else {
      b.append(
          Html.form(
              "/console/tenants/" + id + "/kill",
              s.csrf(),
              Html.field("reason", "Reason for the kill", true),
              "Kill this tenant"));
    }
    b.append("<p><a href=\"/console/audit?tenant=")
        .append(esc(id))
        .append("\">Audit trail of this tenant</a></p>");
    return Html.page("Tenant " + id, s.identity().uri(), b.toString());
  }
}
