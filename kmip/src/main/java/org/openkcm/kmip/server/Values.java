package org.openkcm.kmip.server;

import java.util.Arrays;
import org.openkcm.kmip.ttlv.Item;

/** Small operations on values: a copy under another tag, equality of values regardless of tag. */
final class Values {

  private Values() {}

  static Item retag(Item item, int tag) {
    if (item.tag() == tag) {
      return item;
    }
    if (item instanceof Item.Struct s) {
      return new Item.Struct(tag, s.items());
    } else if (item instanceof Item.Int i) {
      return new Item.Int(tag, i.value());
    } else if (item instanceof Item.LongInt l) {
      return new Item.LongInt(tag, l.value());
    } else if (item instanceof Item.BigInt b) {
      return new Item.BigInt(tag, b.value());
    } else if (item instanceof Item.Enumeration e) {
      return new Item.Enumeration(tag, e.value());
    } else if (item instanceof Item.Bool b) {
      return new Item.Bool(tag, b.value());
    } else if (item instanceof Item.Text t) {
      return new Item.Text(tag, t.value());
    } else if (item instanceof Item.Bytes b) {
      return new Item.Bytes(tag, b.value());
    } else if (item instanceof Item.DateTime d) {
      return new Item.DateTime(tag, d.seconds());
    } else if (item instanceof Item.Interval i) {
      return new Item.Interval(tag, i.seconds());
    } else {
      return new Item.DateTimeExtended(tag, ((Item.DateTimeExtended) item).micros());
    }
  }

  /** Same type and value; structures compare their children the same way (tags included). */
  static boolean sameValue(Item a, Item b) {
    if (a.type() != b.type()) {
      return false;
    }
    if (a instanceof Item.Bytes x && b instanceof Item.Bytes y) {
      return Arrays.equals(x.value(), y.value());
    }
    return retag(a, 0).equals(retag(b, 0));
  }
}
