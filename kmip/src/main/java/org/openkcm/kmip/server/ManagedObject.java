package org.openkcm.kmip.server;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.openkcm.kmip.message.ObjectState;
import org.openkcm.kmip.message.ObjectType;
import org.openkcm.kmip.ttlv.Item;
import org.openkcm.kmip.ttlv.Tag;

/**
 * A KMIP managed object as the gateway keeps it: its identity, owner, type and state, its
 * attributes, and its key material only in protected form (sealed under a data key that the
 * tenant's L3 wraps: see {@link KeyProtector}); empty once destroyed. Immutable: every change makes
 * a new one.
 */
public record ManagedObject(
    String uid,
    Owner owner,
    ObjectType type,
    ObjectState state,
    List<Attribute> attributes,
    Optional<byte[]> protectedMaterial,
    Instant created,
    Format format) {

  /** How the material was given, so Get answers it the same way. */
  public record Format(int keyFormatType, Optional<Integer> secretDataType) {}

  /** Attributes only the server sets. */
  public static final Set<String> SERVER_MANAGED =
      Set.of(
          "Unique Identifier",
          "Object Type",
          "Cryptographic Algorithm",
          "Cryptographic Length",
          "State",
          "Initial Date",
          "Activation Date",
          "Deactivation Date",
          "Destroy Date",
          "Compromise Date",
          "Compromise Occurrence Date",
          "Revocation Reason",
          "Last Change Date",
          "Original Creation Date",
          "Digest",
          "Key Value Present");

  /** Attributes that may hold several instances. */
  public static final Set<String> MULTI_VALUED =
      Set.of(
          "Name", "Object Group", "Link", "Application Specific Information", "Alternative Name");

  public ManagedObject {
    attributes = List.copyOf(attributes);
  }

  public Optional<Attribute> attribute(String name) {
    return attributes.stream().filter(a -> a.name().equals(name)).findFirst();
  }

  public List<Attribute> all(String name) {
    return attributes.stream().filter(a -> a.name().equals(name)).toList();
  }

  public int lengthBits() {
    return attribute("Cryptographic Length").map(a -> ((Item.Int) a.value()).value()).orElse(0);
  }

  /**
   * The attributes as they read now: the stored ones plus Unique Identifier, Object Type and State.
   */
  public List<Attribute> visibleAttributes() {
    List<Attribute> out = new ArrayList<>();
    out.add(new Attribute("Unique Identifier", 0, new Item.Text(Tag.ATTRIBUTE_VALUE, uid)));
    out.add(new Attribute("Object Type", 0, new Item.Enumeration(Tag.ATTRIBUTE_VALUE, type.code)));
    out.add(new Attribute("State", 0, new Item.Enumeration(Tag.ATTRIBUTE_VALUE, state.code)));
    out.addAll(attributes);
    return out;
  }

  public ManagedObject withState(ObjectState next, Instant at, List<Attribute> dates) {
    List<Attribute> attrs = new ArrayList<>(attributes);
    for (Attribute d : dates) {
      attrs.removeIf(a -> a.name().equals(d.name()));
      attrs.add(d);
    }
    return new ManagedObject(
        uid, owner, type, next, stamped(attrs, at), protectedMaterial, created, format);
  }

  public ManagedObject withAttributes(List<Attribute> next, Instant at) {
    return new ManagedObject(
        uid,
        owner,
        type,
        state,
        stamped(new ArrayList<>(next), at),
        protectedMaterial,
        created,
        format);
  }

  /** Destroyed: the protected material is gone (crypto-shredding), the metadata stays. */
  public ManagedObject destroyed(Instant at) {
    ObjectState next =
        state == ObjectState.COMPROMISED
            ? ObjectState.DESTROYED_COMPROMISED
            : ObjectState.DESTROYED;
    ManagedObject d = withState(next, at, List.of(date("Destroy Date", at)));
    return new ManagedObject(
        uid, owner, type, d.state, d.attributes, Optional.empty(), created, format);
  }

  public static Attribute date(String name, Instant at) {
    return new Attribute(name, 0, new Item.DateTime(Tag.ATTRIBUTE_VALUE, at.getEpochSecond()));
  }

  private static List<Attribute> stamped(List<Attribute> attrs, Instant at) {
    attrs.removeIf(a -> a.name().equals("Last Change Date"));
    attrs.add(date("Last Change Date", at));
    return attrs;
  }

  @Override
  public String toString() {
    return "ManagedObject[" + uid + ", " + owner + ", " + type + ", " + state + "]";
  }
}
