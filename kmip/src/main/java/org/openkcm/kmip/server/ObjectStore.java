package org.openkcm.kmip.server;

import java.util.List;
import java.util.Optional;

/**
 * Where KMIP objects live (the gateway's vault database). Holds key material only in protected
 * form. Every read names the owner: another owner's object is absent, not forbidden.
 */
public interface ObjectStore {

  void put(ManagedObject object);

  Optional<ManagedObject> get(Owner owner, String uid);

  /** The owner's objects, newest first. */
  List<ManagedObject> list(Owner owner);

  /** Offboarding: every object of every service of {@code tenant} goes. */
  void dropTenant(String tenant);
}
