package org.openkcm.core.persistence;

/** The journal tags the Core writes. */
public final class JournalTags {

  /**
   * Events written first in this region that the other regions must see (tenant events and the
   * region/global kill-switch); the Orbital replicator ships what carries it.
   */
  public static final String ORBITAL = "orbital";

  /**
   * Another region's destroying event (offboarding, retirement, L2 rotation or rewrap) applied
   * here: never shipped; it marks the point before which this region's events go once its own
   * events before it have reached every peer (Orbital's purge looks for it).
   */
  public static final String ORBITAL_DESTROYED = "orbital-destroyed";

  private JournalTags() {}
}
