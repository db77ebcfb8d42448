package org.openkcm.node.config;

import com.typesafe.config.Config;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.openkcm.node.authz.Assignments;
import org.openkcm.node.tls.Pem;

/**
 * Refuses to start a node whose configuration breaks the promise of its profile, with one line per
 * problem naming the setting: plaintext anywhere but under the test profile on loopback; and under
 * the prod profile anything of the demo's (development CA, development keystore, auto-unseal
 * through a development key, the "every tenant" gateway assignment).
 */
public final class ProfileGuard {

  /** The subject marker of the development CA (see {@code DevCa}). */
  static final String DEV_CA_MARK = "OpenKCM DEVELOPMENT CA";

  private ProfileGuard() {}

  /**
   * Throws {@link IllegalArgumentException} listing every problem of {@code c} for a node of {@code
   * kind}.
   */
  public static void check(Config c, String kind) {
    List<String> problems = problems(c, kind);
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(
          "refusing to start the "
              + kind
              + " under profile "
              + c.getString("openkcm.profile")
              + ":\n  "
              + String.join("\n  ", problems));
    }
  }

  static List<String> problems(Config c, String kind) {
    String profile = c.getString("openkcm.profile");
    List<String> out = new ArrayList<>();
    if (!c.getBoolean("openkcm.tls.enabled")) {
      String hostKey = kind.equals("core") ? "openkcm.core.grpc.host" : "openkcm.gateway.grpc.host";
      if (!profile.equals("test")) {
        out.add(
            "openkcm.tls.enabled = off is allowed only under the test profile (set OPENKCM_TLS=on)");
      } else {
        List<String> keys =
            kind.equals("core")
                ? List.of(hostKey, "pekko.remote.artery.canonical.hostname")
                : List.of(hostKey);
        for (String key : keys) {
          if (!isLoopback(c.getString(key))) {
            out.add(
                "openkcm.tls.enabled = off needs " + key + " on loopback, not " + c.getString(key));
          }
        }
      }
    }
    if (!profile.equals("prod")) {
      return out;
    }
    if (c.getBoolean("openkcm.tls.dev-ca")) {
      out.add(
          "openkcm.tls.dev-ca = on: the development CA is not for production; point openkcm.tls.cert-file, "
              + "key-file and trust-bundle-file at your CA's files");
    } else if (trustsDevelopmentCa(Path.of(c.getString("openkcm.tls.trust-bundle-file")))) {
      out.add(
          "openkcm.tls.trust-bundle-file trusts the OpenKCM DEVELOPMENT CA; use your own CA bundle");
    }
    Assignments a = Assignments.from(c.getConfig("openkcm.authz.assignments"));
    for (String gw : a.gatewaysWithEveryTenant()) {
      out.add(
          "openkcm.authz.assignments.gateways."
              + gw
              + " = [\"*\"] is the demo's every-tenant assignment; "
              + "list the tenants this gateway serves");
    }
    if (c.getStringList("openkcm.authz.policy-files").stream().anyMatch(f -> f.contains("demo"))) {
      out.add(
          "openkcm.authz.policy-files names a demo policy file; use the shipped default.cedar and your own");
    }
    if (kind.equals("core")) {
      if (c.getBoolean("openkcm.core.keystore.devfile.enabled")) {
        out.add(
            "openkcm.core.keystore.devfile.enabled = on: the development keystore keeps keys in plain text");
      }
      if (c.getString("openkcm.core.seal.mode").equals("auto")
          && c.getString("openkcm.core.seal.auto.l1-reference").startsWith("devfile:")) {
        out.add(
            "openkcm.core.seal.auto.l1-reference = "
                + c.getString("openkcm.core.seal.auto.l1-reference")
                + ": auto-unseal through a development key; use shamir or an HSM/KMS key");
      }
    }
    return out;
  }

  private static boolean trustsDevelopmentCa(Path bundle) {
    try {
      if (!Files.exists(bundle)) {
        return false; // the TLS loader names the missing file
      }
      for (X509Certificate ca : Pem.readCertificates(bundle)) {
        if (ca.getSubjectX500Principal().getName().contains(DEV_CA_MARK)) {
          return true;
        }
      }
      return false;
    } catch (Exception e) {
      return false;
    }
  }

  static boolean isLoopback(String host) {
    try {
      return InetAddress.getByName(host).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }
}
