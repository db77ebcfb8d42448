package org.openkcm.node.authz;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * What an admin identity may do, as data for the policies ({@code principal.roles} in Cedar).
 * Operators administer tenants and enter unseal shares; security officers alone pull and release
 * kill-switches, seal a node and approve an L1 re-link. No role ever obtains a data key.
 */
public enum AdminRole {
  OPERATOR("operator"),
  SECURITY_OFFICER("security-officer");

  private final String id;

  AdminRole(String id) {
    this.id = id;
  }

  /** The name used in configuration and policies. */
  public String id() {
    return id;
  }

  public static AdminRole parse(String id) {
    return Arrays.stream(values())
        .filter(r -> r.id.equals(id))
        .findFirst()
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    "unknown admin role '"
                        + id
                        + "'; one of "
                        + Arrays.stream(values())
                            .map(AdminRole::id)
                            .collect(Collectors.joining(", "))));
  }
}
