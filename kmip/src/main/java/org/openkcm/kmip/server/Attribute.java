package org.openkcm.kmip.server;

import java.util.Locale;
import java.util.Optional;
import org.openkcm.kmip.message.Items;
import org.openkcm.kmip.ttlv.Item;
import org.openkcm.kmip.ttlv.Tag;

/**
 * One attribute instance: its name as KMIP 1.x spells it ("Cryptographic Length"), its index among
 * instances of that name, and its value item (tagged Attribute Value, as in KMIP 1.x; KMIP 2.0
 * renders it under the attribute's own tag).
 */
public record Attribute(String name, int index, Item value) {

  public Attribute {
    value = Values.retag(value, Tag.ATTRIBUTE_VALUE.code);
  }

  /** A client-defined attribute (KMIP 1.x "x-" names, and "y-" for server-defined ones). */
  public boolean custom() {
    return name.startsWith("x-") || name.startsWith("y-");
  }

  /** The KMIP 2.0 tag of a standard attribute name ("Cryptographic Length" → its tag). */
  public static Optional<Tag> tagOf(String name) {
    String constant =
        name.toUpperCase(Locale.ROOT).replace("X.509", "X_509").replace(' ', '_').replace('-', '_');
    try {
      return Optional.of(Tag.valueOf(constant));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  /** The attribute name a KMIP 2.0 tag stands for. */
  public static String nameOf(Tag tag) {
    return Items.name(tag).replace("X 509", "X.509");
  }

  /** This attribute as KMIP 1.x writes it: Attribute {Name, Index, Value}. */
  public Item.Struct toV1() {
    return new Item.Struct(
        Tag.ATTRIBUTE,
        index == 0
            ? java.util.List.of(new Item.Text(Tag.ATTRIBUTE_NAME, name), value)
            : java.util.List.of(
                new Item.Text(Tag.ATTRIBUTE_NAME, name),
                new Item.Int(Tag.ATTRIBUTE_INDEX, index),
                value));
  }

  /** This attribute as KMIP 2.0 writes it inside Attributes (empty for names 2.0 has no tag of). */
  public Optional<Item> toV2() {
    return tagOf(name).map(t -> Values.retag(value, t.code));
  }
}
