package org.openkcm.kmip.server;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.openkcm.kmip.message.Items;
import org.openkcm.kmip.message.KmipException;
import org.openkcm.kmip.message.ProtocolVersion;
import org.openkcm.kmip.message.ResultReason;
import org.openkcm.kmip.ttlv.Item;
import org.openkcm.kmip.ttlv.Tag;

/**
 * Attributes as requests carry them: KMIP 1.x as Attribute {Name, Index, Value} structures (loose,
 * or inside a Template-Attribute), KMIP 2.0 as items under their own tags inside Attributes.
 */
final class RequestAttributes {

  private RequestAttributes() {}

  /** The attributes a Create, Register or Locate payload gives. */
  static List<Attribute> of(Item.Struct payload, ProtocolVersion version) {
    List<Attribute> out = new ArrayList<>();
    for (Item a : payload.all(Tag.ATTRIBUTE)) {
      out.add(fromV1(Items.struct(a, "Attribute")));
    }
    Optional<Item.Struct> template = Items.optStruct(payload, Tag.TEMPLATE_ATTRIBUTE);
    if (template.isPresent()) {
      if (!template.get().all(Tag.NAME).isEmpty()) {
        throw new KmipException(
            ResultReason.FEATURE_NOT_SUPPORTED, "templates by name are not supported");
      }
      for (Item a : template.get().all(Tag.ATTRIBUTE)) {
        out.add(fromV1(Items.struct(a, "Attribute")));
      }
    }
    Optional<Item.Struct> attributes = Items.optStruct(payload, Tag.ATTRIBUTES);
    if (attributes.isPresent()) {
      for (Item a : attributes.get().items()) {
        out.add(fromV2(a));
      }
    }
    return out;
  }

  static Attribute fromV1(Item.Struct a) {
    String name =
        Items.optText(a, Tag.ATTRIBUTE_NAME).orElseThrow(() -> Items.missing(Tag.ATTRIBUTE_NAME));
    int index = Items.optInteger(a, Tag.ATTRIBUTE_INDEX).orElse(0);
    if (index < 0) {
      throw new KmipException(ResultReason.INVALID_FIELD, "Attribute Index must not be negative");
    }
    Item value = a.find(Tag.ATTRIBUTE_VALUE).orElseThrow(() -> Items.missing(Tag.ATTRIBUTE_VALUE));
    check(name, value);
    return new Attribute(name, index, value);
  }

  static Attribute fromV2(Item a) {
    Tag tag =
        Tag.of(a.tag())
            .orElseThrow(
                () ->
                    new KmipException(
                        ResultReason.INVALID_FIELD, "attribute tag " + Item.tagName(a.tag())));
    String name = Attribute.nameOf(tag);
    check(name, a);
    return new Attribute(name, 0, a);
  }

  /** The types of the attributes the server reads itself. */
  private static void check(String name, Item value) {
    boolean ok =
        switch (name) {
          case "Cryptographic Algorithm", "Object Type", "State" ->
              value instanceof Item.Enumeration;
          case "Cryptographic Length", "Cryptographic Usage Mask" -> value instanceof Item.Int;
          case "Name" -> value instanceof Item.Struct s && s.find(Tag.NAME_VALUE).isPresent();
          case "Activation Date", "Deactivation Date", "Process Start Date", "Protect Stop Date" ->
              value instanceof Item.DateTime;
          default -> true;
        };
    if (!ok) {
      throw new KmipException(
          ResultReason.INVALID_FIELD, "attribute " + name + " has the wrong type " + value.type());
    }
  }
}
