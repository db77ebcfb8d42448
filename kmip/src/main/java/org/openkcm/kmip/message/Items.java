package org.openkcm.kmip.message;

import java.util.Optional;
import org.openkcm.kmip.ttlv.Item;
import org.openkcm.kmip.ttlv.Tag;

/**
 * Reading fields out of a structure, each failing with a KMIP error that names the field (Invalid
 * Field for a wrong type, Missing Data... as the specification words them).
 */
public final class Items {

  private Items() {}

  public static Item.Struct struct(Item item, String what) {
    if (item instanceof Item.Struct s) {
      return s;
    }
    throw new KmipException(ResultReason.INVALID_FIELD, what + " must be a structure");
  }

  public static Optional<Item.Struct> optStruct(Item.Struct in, Tag tag) {
    return in.find(tag).map(i -> struct(i, name(tag)));
  }

  public static Item.Struct requiredStruct(Item.Struct in, Tag tag) {
    return optStruct(in, tag).orElseThrow(() -> missing(tag));
  }

  public static int integer(Item.Struct in, Tag tag) {
    return optInteger(in, tag).orElseThrow(() -> missing(tag));
  }

  public static Optional<Integer> optInteger(Item.Struct in, Tag tag) {
    return in.find(tag)
        .map(
            i -> {
              if (i instanceof Item.Int v) {
                return v.value();
              }
              throw wrongType(tag, "an Integer");
            });
  }

  public static Optional<Integer> optEnum(Item.Struct in, Tag tag) {
    return in.find(tag)
        .map(
            i -> {
              if (i instanceof Item.Enumeration v) {
                return v.value();
              }
              throw wrongType(tag, "an Enumeration");
            });
  }

  public static int enumeration(Item.Struct in, Tag tag) {
    return optEnum(in, tag).orElseThrow(() -> missing(tag));
  }

  public static Optional<String> optText(Item.Struct in, Tag tag) {
    return in.find(tag)
        .map(
            i -> {
              if (i instanceof Item.Text v) {
                return v.value();
              }
              throw wrongType(tag, "a Text String");
            });
  }

  public static Optional<byte[]> optBytes(Item.Struct in, Tag tag) {
    return in.find(tag)
        .map(
            i -> {
              if (i instanceof Item.Bytes v) {
                return v.value();
              }
              throw wrongType(tag, "a Byte String");
            });
  }

  public static Optional<Boolean> optBool(Item.Struct in, Tag tag) {
    return in.find(tag)
        .map(
            i -> {
              if (i instanceof Item.Bool v) {
                return v.value();
              }
              throw wrongType(tag, "a Boolean");
            });
  }

  public static KmipException missing(Tag tag) {
    return new KmipException(ResultReason.INVALID_MESSAGE, name(tag) + " is missing");
  }

  private static KmipException wrongType(Tag tag, String type) {
    return new KmipException(ResultReason.INVALID_FIELD, name(tag) + " must be " + type);
  }

  /** "Unique Identifier" for UNIQUE_IDENTIFIER. */
  public static String name(Tag tag) {
    StringBuilder out = new StringBuilder();
    for (String word : tag.name().split("_")) {
      if (!out.isEmpty()) {
        out.append(' ');
      }
      out.append(word.charAt(0)).append(word.substring(1).toLowerCase(java.util.Locale.ROOT));
    }
    return out.toString();
  }
}
