package org.openkcm.core.killswitch;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.regex.Pattern;

/**
 * What a pulled kill-switch covers: one tenant, one region, or every tenant everywhere. On the wire
 * and in the journal a scope is its {@link #asString()} form ({@code tenant}, {@code
 * region:<name>}, {@code global}).
 *
 * <p>{@link Unconfirmed} is no switch anyone pulls: it is what a Core node reports before it has
 * loaded the kill-switch state, so that it fails closed (every tenant refused, retryably) until it
 * knows.
 */
public sealed interface KillScope {

  Pattern REGION_NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");

  /** One tenant's own kill-switch. */
  record Tenant() implements KillScope {
    @Override
    public String asString() {
      return "tenant";
    }
  }

  /** Every tenant served in one region. */
  record Region(String name) implements KillScope {
    public Region {
      if (name == null || !REGION_NAME.matcher(name).matches()) {
        throw new IllegalArgumentException(
            "a region name is 1-63 of a-z 0-9 . _ - starting with a letter or digit, was '"
                + name
                + "'");
      }
    }

    @Override
    public String asString() {
      return "region:" + name;
    }
  }

  /** Every tenant in every region. */
  record Global() implements KillScope {
    @Override
    public String asString() {
      return "global";
    }
  }

  /** This node has not loaded the kill-switch state yet: it refuses everything, retryably. */
  record Unconfirmed() implements KillScope {
    @Override
    public String asString() {
      return "unconfirmed";
    }
  }

  KillScope TENANT = new Tenant();
  KillScope GLOBAL = new Global();
  KillScope UNCONFIRMED = new Unconfirmed();

  @JsonValue
  String asString();

  /** True for the region and global switches (a cluster singleton holds them). */
  default boolean isClusterWide() {
    return this instanceof Region || this instanceof Global;
  }

  /**
   * Reads {@link #asString()} back.
   *
   * @throws IllegalArgumentException naming the accepted forms
   */
  @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
  static KillScope parse(String text) {
    if ("tenant".equals(text)) {
      return TENANT;
    }
    if ("global".equals(text)) {
      return GLOBAL;
    }
    if ("unconfirmed".equals(text)) {
      return UNCONFIRMED;
    }
    if (text != null && text.startsWith("region:")) {
      return new Region(text.substring("region:".length()));
    }
    throw new IllegalArgumentException(
        "a kill scope is 'tenant', 'global' or 'region:<name>', was '" + text + "'");
  }

  /** A scope an operator may engage on the cluster-wide switch: global or region:&lt;name&gt;. */
  static KillScope parseClusterWide(String text) {
    KillScope scope = parse(text);
    if (!scope.isClusterWide()) {
      throw new IllegalArgumentException(
          "scope must be 'global' or 'region:<name>', was '" + text + "'");
    }
    return scope;
  }
}
