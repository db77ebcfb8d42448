package org.openkcm.kmip.ttlv;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * One TTLV item: a tag and a typed value. Structures hold their children in order. Byte strings
 * print only their length (they may be key material).
 */
public sealed interface Item {

  int tag();

  ItemType type();

  /** A structure. */
  record Struct(int tag, List<Item> items) implements Item {
    public Struct {
      items = List.copyOf(items);
    }

    public Struct(Tag tag, List<Item> items) {
      this(tag.code, items);
    }

    @Override
    public ItemType type() {
      return ItemType.STRUCTURE;
    }

    /** The first child with {@code tag}. */
    public Optional<Item> find(Tag tag) {
      for (Item i : items) {
        if (i.tag() == tag.code) {
          return Optional.of(i);
        }
      }
      return Optional.empty();
    }

    /** Every child with {@code tag}, in order. */
    public List<Item> all(Tag tag) {
      List<Item> out = new ArrayList<>();
      for (Item i : items) {
        if (i.tag() == tag.code) {
          out.add(i);
        }
      }
      return out;
    }
  }

  record Int(int tag, int value) implements Item {
    public Int(Tag tag, int value) {
      this(tag.code, value);
    }

    @Override
    public ItemType type() {
      return ItemType.INTEGER;
    }
  }

  record LongInt(int tag, long value) implements Item {
    public LongInt(Tag tag, long value) {
      this(tag.code, value);
    }

    @Override
    public ItemType type() {
      return ItemType.LONG_INTEGER;
    }
  }

  record BigInt(int tag, BigInteger value) implements Item {
    @Override
    public ItemType type() {
      return ItemType.BIG_INTEGER;
    }
  }

  record Enumeration(int tag, int value) implements Item {
    public Enumeration(Tag tag, int value) {
      this(tag.code, value);
    }

    @Override
    public ItemType type() {
      return ItemType.ENUMERATION;
    }
  }

  record Bool(int tag, boolean value) implements Item {
    public Bool(Tag tag, boolean value) {
      this(tag.code, value);
    }

    @Override
    public ItemType type() {
      return ItemType.BOOLEAN;
    }
  }

  record Text(int tag, String value) implements Item {
    public Text(Tag tag, String value) {
      this(tag.code, value);
    }

    @Override
    public ItemType type() {
      return ItemType.TEXT_STRING;
    }
  }

  /** A byte string; {@link #toString()} never shows the bytes. */
  record Bytes(int tag, byte[] value) implements Item {
    public Bytes(Tag tag, byte[] value) {
      this(tag.code, value);
    }

    @Override
    public ItemType type() {
      return ItemType.BYTE_STRING;
    }

    @Override
    public String toString() {
      return "Bytes[" + tagName(tag) + ", " + value.length + " bytes]";
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Bytes b && b.tag == tag && java.util.Arrays.equals(b.value, value);
    }

    @Override
    public int hashCode() {
      return tag * 31 + java.util.Arrays.hashCode(value);
    }
  }

  /** Seconds since the epoch. */
  record DateTime(int tag, long seconds) implements Item {
    public DateTime(Tag tag, long seconds) {
      this(tag.code, seconds);
    }

    @Override
    public ItemType type() {
      return ItemType.DATE_TIME;
    }
  }

  /** Seconds. */
  record Interval(int tag, int seconds) implements Item {
    @Override
    public ItemType type() {
      return ItemType.INTERVAL;
    }
  }

  /** Microseconds since the epoch (KMIP 2.0). */
  record DateTimeExtended(int tag, long micros) implements Item {
    @Override
    public ItemType type() {
      return ItemType.DATE_TIME_EXTENDED;
    }
  }

  /** The tag's name when it is a standard one, its hex code otherwise. */
  static String tagName(int tag) {
    return Tag.of(tag).map(Enum::name).orElse("0x" + HexFormat.of().toHexDigits(tag).substring(2));
  }
}
