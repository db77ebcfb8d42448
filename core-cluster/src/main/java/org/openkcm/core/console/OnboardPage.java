package org.openkcm.core.console;

import static org.openkcm.core.console.Html.esc;

import java.util.Optional;
import org.openkcm.protocol.error.OpenKcmException;

/**
 * The console's self-service onboarding form: tenant id, L1 key reference and an optional first
 * service; {@code failed} shows why the last attempt was refused.
 */
final class OnboardPage {

  private OnboardPage() {}

  static String render(ConsoleSessions.Session s, Optional<OpenKcmException> failed) {
    String error =
        failed
            .map(e -> "<p class=\"error\" role=\"alert\">" + esc(e.oneLine()) + "</p>")
            .orElse("");
    return Html.page(
        "Onboard a tenant",
        s.identity().uri(),
        error
            + "<p>Link your root key (L1): OpenKCM makes the tenant key and wraps it with your key; the"
            + " round trip proves the reference before anything is stored.</p>"
            + Html.form(
                "/console/onboard",
                s.csrf(),
                Html.field("tenantId", "Tenant id", true)
                    + Html.field(
                        "l1Reference", "L1 key reference (aws-kms:…, pkcs11:…, devfile:…)", true)
                    + Html.field("serviceId", "First service (optional)", false),
                "Onboard"));
  }
}
