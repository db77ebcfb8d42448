package org.openkcm.node.authz;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Who is assigned what ({@code openkcm.authz.assignments}): the tenants each gateway serves and the
 * roles each admin identity holds, by the identity's name (the last segment of its SPIFFE id). An
 * identity that is not listed has nothing. The tenant {@code "*"} means every tenant: the demo's
 * assignment, refused by the prod profile.
 */
public record Assignments(
    Map<String, Set<String>> gatewayTenants, Map<String, Set<AdminRole>> adminRoles) {

  public static final String EVERY_TENANT = "*";
  public static final Assignments NONE = new Assignments(Map.of(), Map.of());

  public Assignments {
    gatewayTenants = Map.copyOf(gatewayTenants);
    adminRoles = Map.copyOf(adminRoles);
  }

  public Set<String> tenantsOf(String gateway) {
    return gatewayTenants.getOrDefault(gateway, Set.of());
  }

  public Set<AdminRole> rolesOf(String admin) {
    return adminRoles.getOrDefault(admin, Set.of());
  }

  /** Gateways assigned every tenant ({@code "*"}). */
  public List<String> gatewaysWithEveryTenant() {
    return gatewayTenants.entrySet().stream()
        .filter(e -> e.getValue().contains(EVERY_TENANT))
        .map(Map.Entry::getKey)
        .sorted()
        .toList();
  }

  /** Reads {@code gateways { <name> = [tenants] }} and {@code admins { <name> = [roles] }}. */
  public static Assignments from(Config c) {
    Map<String, Set<String>> gateways = new HashMap<>();
    Map<String, Set<AdminRole>> admins = new HashMap<>();
    try {
      Config g = c.getConfig("gateways");
      for (String name : g.root().keySet()) {
        gateways.put(name, Set.copyOf(g.getStringList(quoted(name))));
      }
      Config a = c.getConfig("admins");
      for (String name : a.root().keySet()) {
        Set<AdminRole> roles = EnumSet.noneOf(AdminRole.class);
        for (String r : a.getStringList(quoted(name))) {
          roles.add(AdminRole.parse(r));
        }
        admins.put(name, Set.copyOf(roles));
      }
    } catch (ConfigException | IllegalArgumentException e) {
      throw new IllegalArgumentException("openkcm.authz.assignments: " + e.getMessage(), e);
    }
    return new Assignments(gateways, admins);
  }

  private static String quoted(String key) {
    return "\"" + key + "\"";
  }
}
