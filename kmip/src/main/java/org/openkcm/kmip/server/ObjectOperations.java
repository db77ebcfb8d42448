package org.openkcm.kmip.server;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.openkcm.kmip.message.CryptographicAlgorithm;
import org.openkcm.kmip.message.Items;
import org.openkcm.kmip.message.KeyFormatType;
import org.openkcm.kmip.message.KmipException;
import org.openkcm.kmip.message.ObjectState;
import org.openkcm.kmip.message.ObjectType;
import org.openkcm.kmip.message.ProtocolVersion;
import org.openkcm.kmip.message.ResultReason;
import org.openkcm.kmip.message.RevocationReasonCode;
import org.openkcm.kmip.ttlv.Item;
import org.openkcm.kmip.ttlv.Tag;

/**
 * The object lifecycle: Create, Register, Get, Activate, Revoke, Destroy, Check and Locate. States
 * follow KMIP: Pre-Active → Active (Activate, or an Activation Date reached at creation) →
 * Deactivated or Compromised (Revoke) → Destroyed / Destroyed-Compromised (Destroy, which drops the
 * protected material: crypto-shredding). An Active object must be revoked before it is destroyed.
 */
final class ObjectOperations {

  static final int MAX_MATERIAL_BYTES = 4096;

  /** Server-managed attributes a client may still give when it creates or registers. */
  private static final Set<String> SETTABLE_AT_CREATION =
      Set.of(
          "Cryptographic Algorithm",
          "Cryptographic Length",
          "Activation Date",
          "Process Start Date",
          "Protect Stop Date",
          "Deactivation Date");

  private final ObjectStore store;
  private final KeyProtector protector;
  private final SecureRandom random;

  ObjectOperations(ObjectStore store, KeyProtector protector, SecureRandom random) {
    this.store = store;
    this.protector = protector;
    this.random = random;
  }

  Item.Struct create(Call call, Item.Struct p) {
    int type = Items.enumeration(p, Tag.OBJECT_TYPE);
    if (type != ObjectType.SYMMETRIC_KEY.code) {
      throw new KmipException(
          call.version.isTwo() ? ResultReason.INVALID_OBJECT_TYPE : ResultReason.INVALID_FIELD,
          "Create makes symmetric keys only (object type " + type + ")");
    }
    List<Attribute> given = RequestAttributes.of(p, call.version);
    int algorithm =
        enumValue(given, "Cryptographic Algorithm")
            .orElseThrow(
                () ->
                    new KmipException(
                        ResultReason.INVALID_MESSAGE,
                        "Create needs the Cryptographic Algorithm attribute"));
    if (algorithm != CryptographicAlgorithm.AES.code) {
      throw new KmipException(
          call.version.isTwo()
              ? ResultReason.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS
              : ResultReason.INVALID_FIELD,
          "Create makes AES keys only");
    }
    int bits =
        intValue(given, "Cryptographic Length")
            .orElseThrow(
                () ->
                    new KmipException(
                        ResultReason.INVALID_MESSAGE,
                        "Create needs the Cryptographic Length attribute (128, 192 or 256)"));
    if (bits != 128 && bits != 192 && bits != 256) {
      throw new KmipException(
          ResultReason.INVALID_FIELD, "an AES key is 128, 192 or 256 bits, not " + bits);
    }
    byte[] key = new byte[bits / 8];
    random.nextBytes(key);
    ManagedObject o =
        newObject(
            call,
            ObjectType.SYMMETRIC_KEY,
            given,
            key,
            new ManagedObject.Format(KeyFormatType.RAW.code, Optional.empty()));
    return new Item.Struct(
        Tag.RESPONSE_PAYLOAD,
        List.of(
            new Item.Enumeration(Tag.OBJECT_TYPE, type),
            new Item.Text(Tag.UNIQUE_IDENTIFIER, o.uid())));
  }

  Item.Struct register(Call call, Item.Struct p) {
    int typeCode = Items.enumeration(p, Tag.OBJECT_TYPE);
    ObjectType type =
        ObjectType.of(typeCode)
            .filter(t -> t == ObjectType.SYMMETRIC_KEY || t == ObjectType.SECRET_DATA)
            .orElseThrow(
                () ->
                    new KmipException(
                        call.version.isTwo()
                            ? ResultReason.INVALID_OBJECT_TYPE
                            : ResultReason.INVALID_FIELD,
                        "Register takes Symmetric Key and Secret Data objects only"));
    Tag objectTag = type == ObjectType.SYMMETRIC_KEY ? Tag.SYMMETRIC_KEY : Tag.SECRET_DATA;
    Item.Struct object = Items.requiredStruct(p, objectTag);
    Optional<Integer> secretType = Optional.empty();
    if (type == ObjectType.SECRET_DATA) {
      secretType = Optional.of(Items.enumeration(object, Tag.SECRET_DATA_TYPE));
    }
    Item.Struct block = Items.requiredStruct(object, Tag.KEY_BLOCK);
    if (block.find(Tag.KEY_WRAPPING_DATA).isPresent()) {
      throw new KmipException(
          call.version.isTwo()
              ? ResultReason.KEY_WRAP_TYPE_NOT_SUPPORTED
              : ResultReason.FEATURE_NOT_SUPPORTED,
          "wrapped key blocks are not accepted; register the key in the clear over this TLS session");
    }
    int format = Items.enumeration(block, Tag.KEY_FORMAT_TYPE);
    Item.Struct value = Items.requiredStruct(block, Tag.KEY_VALUE);
    byte[] material = material(value, format, type);
    List<Attribute> given = new ArrayList<>(RequestAttributes.of(p, call.version));
    for (Item a : value.all(Tag.ATTRIBUTE)) {
      given.add(RequestAttributes.fromV1(Items.struct(a, "Attribute")));
    }
    if (type == ObjectType.SYMMETRIC_KEY) {
      Optional<Integer> algorithm =
          Items.optEnum(block, Tag.CRYPTOGRAPHIC_ALGORITHM)
              .or(() -> enumValue(given, "Cryptographic Algorithm"));
      if (algorithm.isEmpty()) {
        throw new KmipException(
            ResultReason.INVALID_MESSAGE, "a symmetric key needs its Cryptographic Algorithm");
      }
      int bits = Items.optInteger(block, Tag.CRYPTOGRAPHIC_LENGTH).orElse(material.length * 8);
      if (bits != material.length * 8) {
        throw new KmipException(
            ResultReason.INVALID_FIELD,
            "Cryptographic Length says " + bits + " bits, the key has " + material.length * 8);
      }
      if (algorithm.get() == CryptographicAlgorithm.AES.code
          && bits != 128
          && bits != 192
          && bits != 256) {
        throw new KmipException(
            ResultReason.INVALID_FIELD, "an AES key is 128, 192 or 256 bits, not " + bits);
      }
      replace(
          given,
          "Cryptographic Algorithm",
          new Item.Enumeration(Tag.ATTRIBUTE_VALUE, algorithm.get()));
      replace(given, "Cryptographic Length", new Item.Int(Tag.ATTRIBUTE_VALUE, bits));
    }
    ManagedObject o =
        newObject(call, type, given, material, new ManagedObject.Format(format, secretType));
    return new Item.Struct(
        Tag.RESPONSE_PAYLOAD, List.of(new Item.Text(Tag.UNIQUE_IDENTIFIER, o.uid())));
  }

  private static byte[] material(Item.Struct value, int format, ObjectType type) {
    Item m = value.find(Tag.KEY_MATERIAL).orElseThrow(() -> Items.missing(Tag.KEY_MATERIAL));
    byte[] bytes;
    if (m instanceof Item.Bytes b) {
      bytes = b.value();
    } else if (m instanceof Item.Struct s
        && format == KeyFormatType.TRANSPARENT_SYMMETRIC_KEY.code) {
      bytes = Items.optBytes(s, Tag.KEY).orElseThrow(() -> Items.missing(Tag.KEY));
    } else {
      throw new KmipException(
          ResultReason.KEY_FORMAT_TYPE_NOT_SUPPORTED,
          "key format " + format + " is not accepted for " + type);
    }
    if (bytes.length == 0 || bytes.length > MAX_MATERIAL_BYTES) {
      throw new KmipException(
          ResultReason.INVALID_FIELD,
          "key material is 1 to " + MAX_MATERIAL_BYTES + " bytes, got " + bytes.length);
    }
    return bytes;
  }

  Item.Struct get(Call call, Item.Struct p) {
    String uid = call.uid(p);
    ManagedObject o = live(call, uid);
    if (p.find(Tag.KEY_WRAPPING_SPECIFICATION).isPresent()) {
      throw new KmipException(
          call.version.isTwo()
              ? ResultReason.KEY_WRAP_TYPE_NOT_SUPPORTED
              : ResultReason.FEATURE_NOT_SUPPORTED,
          "keys are returned unwrapped over this TLS session; Key Wrapping Specification is not"
              + " supported");
    }
    int format = Items.optEnum(p, Tag.KEY_FORMAT_TYPE).orElse(o.format().keyFormatType());
    if (o.type() == ObjectType.SYMMETRIC_KEY
        && format != KeyFormatType.RAW.code
        && format != KeyFormatType.TRANSPARENT_SYMMETRIC_KEY.code) {
      throw new KmipException(
          ResultReason.KEY_FORMAT_TYPE_NOT_SUPPORTED,
          "symmetric keys are returned as Raw or Transparent Symmetric Key");
    }
    if (o.type() == ObjectType.SECRET_DATA
        && format != o.format().keyFormatType()
        && format != KeyFormatType.RAW.code) {
      throw new KmipException(
          ResultReason.KEY_FORMAT_TYPE_NOT_SUPPORTED,
          "secret data is returned in the format it was registered with, or Raw");
    }
    byte[] material = protector.open(call.owner, uid, o.protectedMaterial().orElseThrow());
    try {
      Item keyMaterial =
          format == KeyFormatType.TRANSPARENT_SYMMETRIC_KEY.code
              ? new Item.Struct(
                  Tag.KEY_MATERIAL, List.of(new Item.Bytes(Tag.KEY, material.clone())))
              : new Item.Bytes(Tag.KEY_MATERIAL, material.clone());
      List<Item> block = new ArrayList<>();
      block.add(new Item.Enumeration(Tag.KEY_FORMAT_TYPE, format));
      block.add(new Item.Struct(Tag.KEY_VALUE, List.of(keyMaterial)));
      if (o.type() == ObjectType.SYMMETRIC_KEY) {
        enumValue(o.attributes(), "Cryptographic Algorithm")
            .ifPresent(a -> block.add(new Item.Enumeration(Tag.CRYPTOGRAPHIC_ALGORITHM, a)));
        block.add(new Item.Int(Tag.CRYPTOGRAPHIC_LENGTH, material.length * 8));
      }
      List<Item> object = new ArrayList<>();
      o.format()
          .secretDataType()
          .ifPresent(t -> object.add(new Item.Enumeration(Tag.SECRET_DATA_TYPE, t)));
      object.add(new Item.Struct(Tag.KEY_BLOCK, block));
      Tag objectTag = o.type() == ObjectType.SYMMETRIC_KEY ? Tag.SYMMETRIC_KEY : Tag.SECRET_DATA;
      return new Item.Struct(
          Tag.RESPONSE_PAYLOAD,
          List.of(
              new Item.Enumeration(Tag.OBJECT_TYPE, o.type().code),
              new Item.Text(Tag.UNIQUE_IDENTIFIER, uid),
              new Item.Struct(objectTag, object)));
    } finally {
      Arrays.fill(material, (byte) 0);
    }
  }

  Item.Struct activate(Call call, Item.Struct p) {
    String uid = call.uid(p);
    ManagedObject o = live(call, uid);
    if (o.state() != ObjectState.PRE_ACTIVE) {
      throw new KmipException(
          call.wrongState(), "object " + uid + " is " + o.state() + ", only Pre-Active activates");
    }
    store.put(
        o.withState(
            ObjectState.ACTIVE,
            call.now,
            List.of(ManagedObject.date("Activation Date", call.now))));
    return uidPayload(uid);
  }

  Item.Struct revoke(Call call, Item.Struct p) {
    String uid = call.uid(p);
    ManagedObject o = live(call, uid);
    Item.Struct reason = Items.requiredStruct(p, Tag.REVOCATION_REASON);
    int code = Items.enumeration(reason, Tag.REVOCATION_REASON_CODE);
    boolean compromise =
        code == RevocationReasonCode.KEY_COMPROMISE.code
            || code == RevocationReasonCode.CA_COMPROMISE.code;
    List<Attribute> dates = new ArrayList<>();
    dates.add(new Attribute("Revocation Reason", 0, reason));
    ObjectState next;
    if (compromise) {
      next = ObjectState.COMPROMISED;
      dates.add(ManagedObject.date("Compromise Date", call.now));
      long occurred =
          p.find(Tag.COMPROMISE_OCCURRENCE_DATE)
              .filter(i -> i instanceof Item.DateTime)
              .map(i -> ((Item.DateTime) i).seconds())
              .orElse(call.now.getEpochSecond());
      dates.add(
          new Attribute(
              "Compromise Occurrence Date", 0, new Item.DateTime(Tag.ATTRIBUTE_VALUE, occurred)));
    } else {
      if (o.state() != ObjectState.ACTIVE && o.state() != ObjectState.PRE_ACTIVE) {
        throw new KmipException(
            call.wrongState(),
            "object "
                + uid
                + " is "
                + o.state()
                + "; only Active or Pre-Active objects deactivate");
      }
      next = ObjectState.DEACTIVATED;
      dates.add(ManagedObject.date("Deactivation Date", call.now));
    }
    store.put(o.withState(next, call.now, dates));
    return uidPayload(uid);
  }

  Item.Struct destroy(Call call, Item.Struct p) {
    String uid = call.uid(p);
    ManagedObject o = live(call, uid);
    if (o.state() == ObjectState.ACTIVE) {
      throw new KmipException(
          call.wrongState(), "object " + uid + " is Active; revoke it before destroying it");
    }
    store.put(o.destroyed(call.now));
    return uidPayload(uid);
  }

  Item.Struct check(Call call, Item.Struct p) {
    String uid = call.uid(p);
    ManagedObject o = live(call, uid);
    Optional<Integer> mask = Items.optInteger(p, Tag.CRYPTOGRAPHIC_USAGE_MASK);
    if (mask.isPresent()) {
      int has = intValue(o.attributes(), "Cryptographic Usage Mask").orElse(0);
      if ((has & mask.get()) != mask.get()) {
        throw new KmipException(
            call.version.isTwo()
                ? ResultReason.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK
                : ResultReason.ILLEGAL_OPERATION,
            "object " + uid + " does not allow that cryptographic usage");
      }
    }
    return uidPayload(uid);
  }

  Item.Struct locate(Call call, Item.Struct p) {
    List<Attribute> filters = RequestAttributes.of(p, call.version);
    int max = Items.optInteger(p, Tag.MAXIMUM_ITEMS).orElse(Integer.MAX_VALUE);
    int offset = Items.optInteger(p, Tag.OFFSET_ITEMS).orElse(0);
    if (max < 0 || offset < 0) {
      throw new KmipException(
          ResultReason.INVALID_FIELD, "Maximum Items and Offset Items must not be negative");
    }
    List<String> found = new ArrayList<>();
    for (ManagedObject o : store.list(call.owner)) {
      if (filters.stream().allMatch(f -> matches(o, f))) {
        found.add(o.uid());
      }
    }
    List<Item> out = new ArrayList<>();
    if (call.version.compareTo(new ProtocolVersion(1, 3)) >= 0) {
      out.add(new Item.Int(Tag.LOCATED_ITEMS, found.size()));
    }
    found.stream()
        .skip(offset)
        .limit(max)
        .forEach(uid -> out.add(new Item.Text(Tag.UNIQUE_IDENTIFIER, uid)));
    return new Item.Struct(Tag.RESPONSE_PAYLOAD, out);
  }

  private static boolean matches(ManagedObject o, Attribute filter) {
    return switch (filter.name()) {
      case "Object Type" -> ((Item.Enumeration) filter.value()).value() == o.type().code;
      case "State" -> ((Item.Enumeration) filter.value()).value() == o.state().code;
      case "Unique Identifier" ->
          filter.value() instanceof Item.Text t && t.value().equals(o.uid());
      case "Name" -> {
        Optional<String> wanted = Items.optText((Item.Struct) filter.value(), Tag.NAME_VALUE);
        yield o.all("Name").stream()
            .anyMatch(n -> Items.optText((Item.Struct) n.value(), Tag.NAME_VALUE).equals(wanted));
      }
      default ->
          o.all(filter.name()).stream().anyMatch(a -> Values.sameValue(a.value(), filter.value()));
    };
  }

  /** Makes, protects and stores a new object from the client's attributes. */
  private ManagedObject newObject(
      Call call,
      ObjectType type,
      List<Attribute> given,
      byte[] material,
      ManagedObject.Format format) {
    String uid = newUid();
    List<Attribute> attrs = new ArrayList<>();
    Map<String, Integer> indexes = new HashMap<>();
    for (Attribute a : given) {
      if (ManagedObject.SERVER_MANAGED.contains(a.name())
          && !SETTABLE_AT_CREATION.contains(a.name())) {
        throw new KmipException(
            call.version.isTwo() ? ResultReason.ATTRIBUTE_READ_ONLY : ResultReason.INVALID_FIELD,
            "attribute " + a.name() + " is set by the server");
      }
      int index = indexes.merge(a.name(), 1, Integer::sum) - 1;
      if (index > 0 && !ManagedObject.MULTI_VALUED.contains(a.name()) && !a.custom()) {
        throw new KmipException(
            call.version.isTwo()
                ? ResultReason.ATTRIBUTE_SINGLE_VALUED
                : ResultReason.INVALID_FIELD,
            "attribute " + a.name() + " has one value only");
      }
      attrs.add(new Attribute(a.name(), index, a.value()));
    }
    requireUniqueNames(store, call, attrs, uid);
    attrs.add(ManagedObject.date("Initial Date", call.now));
    ObjectState state = ObjectState.PRE_ACTIVE;
    Optional<Item> activation =
        attrs.stream()
            .filter(a -> a.name().equals("Activation Date"))
            .map(Attribute::value)
            .findFirst();
    if (activation.isPresent()
        && ((Item.DateTime) activation.get()).seconds() <= call.now.getEpochSecond()) {
      state = ObjectState.ACTIVE;
    }
    byte[] sealed;
    try {
      sealed = protector.protect(call.owner, uid, material);
    } finally {
      Arrays.fill(material, (byte) 0);
    }
    ManagedObject o =
        new ManagedObject(
                uid, call.owner, type, state, List.of(), Optional.of(sealed), call.now, format)
            .withAttributes(attrs, call.now);
    store.put(o);
    call.placeholder(uid);
    return o;
  }

  /** A Name names one live object of the owner. */
  static void requireUniqueNames(ObjectStore store, Call call, List<Attribute> attrs, String uid) {
    for (Attribute a : attrs) {
      if (!a.name().equals("Name")) {
        continue;
      }
      Optional<String> name = Items.optText((Item.Struct) a.value(), Tag.NAME_VALUE);
      for (ManagedObject other : store.list(call.owner)) {
        if (!other.uid().equals(uid)
            && other.protectedMaterial().isPresent()
            && matches(other, a)) {
          throw new KmipException(
              call.version.isTwo()
                  ? ResultReason.NON_UNIQUE_NAME_ATTRIBUTE
                  : ResultReason.INVALID_FIELD,
              "the name " + name.orElse("") + " is already used by object " + other.uid());
        }
      }
    }
  }

  /** The owner's object {@code uid}; failing when absent (another owner's objects are absent). */
  static ManagedObject object(ObjectStore store, Call call, String uid) {
    return store
        .get(call.owner, uid)
        .orElseThrow(() -> new KmipException(call.notFound(), "no object " + uid));
  }

  private ManagedObject live(Call call, String uid) {
    return live(store, call, uid);
  }

  /** Like {@link #object}, and failing for a destroyed object. */
  static ManagedObject live(ObjectStore store, Call call, String uid) {
    ManagedObject o = object(store, call, uid);
    if (o.protectedMaterial().isEmpty()) {
      throw new KmipException(
          call.version.isTwo() ? ResultReason.OBJECT_DESTROYED : ResultReason.ITEM_NOT_FOUND,
          "object " + uid + " was destroyed; its key material is gone");
    }
    return o;
  }

  private String newUid() {
    byte[] b = new byte[16];
    random.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  private static Item.Struct uidPayload(String uid) {
    return new Item.Struct(
        Tag.RESPONSE_PAYLOAD, List.of(new Item.Text(Tag.UNIQUE_IDENTIFIER, uid)));
  }

  static Optional<Integer> enumValue(List<Attribute> attrs, String name) {
    return attrs.stream()
        .filter(a -> a.name().equals(name) && a.value() instanceof Item.Enumeration)
        .map(a -> ((Item.Enumeration) a.value()).value())
        .findFirst();
  }

  static Optional<Integer> intValue(List<Attribute> attrs, String name) {
    return attrs.stream()
        .filter(a -> a.name().equals(name) && a.value() instanceof Item.Int)
        .map(a -> ((Item.Int) a.value()).value())
        .findFirst();
  }

  private static void replace(List<Attribute> attrs, String name, Item value) {
    attrs.removeIf(a -> a.name().equals(name));
    attrs.add(new Attribute(name, 0, value));
  }
}
