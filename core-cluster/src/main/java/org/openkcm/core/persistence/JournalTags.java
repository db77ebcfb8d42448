package org.openkcm.core.persistence;

/** The journal tags the Core writes. */
public final class JournalTags {

  /**
   * Events written first in this region that the other regions must see (tenant events and the
   * region/global kill-switch); the Orbital replicator ships what carries it.
   */
  public static final String ORBITAL = "orbital";

  private JournalTags() {}
}
