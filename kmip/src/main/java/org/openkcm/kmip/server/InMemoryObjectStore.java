package org.openkcm.kmip.server;

import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/** Objects in memory (tests and the demo without a database). */
public final class InMemoryObjectStore implements ObjectStore {

  private final Map<Owner, Map<String, ManagedObject>> objects = new ConcurrentHashMap<>();

  @Override
  public void put(ManagedObject object) {
    objects
        .computeIfAbsent(object.owner(), o -> new ConcurrentHashMap<>())
        .put(object.uid(), object);
  }

  @Override
  public Optional<ManagedObject> get(Owner owner, String uid) {
    return Optional.ofNullable(objects.getOrDefault(owner, Map.of()).get(uid));
  }

  @Override
  public List<ManagedObject> list(Owner owner) {
    return objects.getOrDefault(owner, Map.of()).values().stream()
        .sorted(Comparator.comparing(ManagedObject::created).reversed())
        .toList();
  }

  @Override
  public void dropTenant(String tenant) {
    objects.keySet().removeIf(o -> o.tenant().equals(tenant));
  }
}
