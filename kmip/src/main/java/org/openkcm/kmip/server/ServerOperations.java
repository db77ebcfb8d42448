package org.openkcm.kmip.server;

import java.util.ArrayList;
import java.util.List;
import org.openkcm.kmip.message.Items;
import org.openkcm.kmip.message.ObjectType;
import org.openkcm.kmip.message.Operation;
import org.openkcm.kmip.message.ProtocolVersion;
import org.openkcm.kmip.message.QueryFunction;
import org.openkcm.kmip.ttlv.Item;
import org.openkcm.kmip.ttlv.Tag;

/** Discover Versions and Query: what this server speaks and does. */
final class ServerOperations {

  static final String VENDOR = "OpenKCM";

  /**
   * The versions both sides speak, in the client's order of preference; every version this server
   * speaks when the client lists none.
   */
  Item.Struct discoverVersions(Item.Struct p) {
    List<Item> out = new ArrayList<>();
    List<Item> asked = p.all(Tag.PROTOCOL_VERSION);
    if (asked.isEmpty()) {
      for (ProtocolVersion v : ProtocolVersion.SUPPORTED) {
        out.add(v.toItem());
      }
    } else {
      for (Item a : asked) {
        ProtocolVersion v = ProtocolVersion.from(Items.struct(a, "Protocol Version"));
        if (v.supported()) {
          out.add(v.toItem());
        }
      }
    }
    return new Item.Struct(Tag.RESPONSE_PAYLOAD, out);
  }

  Item.Struct query(Call call, Item.Struct p) {
    List<Item> out = new ArrayList<>();
    for (Item f : p.all(Tag.QUERY_FUNCTION)) {
      int code = f instanceof Item.Enumeration e ? e.value() : -1;
      if (code == QueryFunction.QUERY_OPERATIONS.code) {
        for (Operation op : KmipEngine.SUPPORTED) {
          if (op != Operation.SET_ATTRIBUTE || call.version.isTwo()) {
            out.add(new Item.Enumeration(Tag.OPERATION, op.code));
          }
        }
      } else if (code == QueryFunction.QUERY_OBJECTS.code) {
        out.add(new Item.Enumeration(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY.code));
        out.add(new Item.Enumeration(Tag.OBJECT_TYPE, ObjectType.SECRET_DATA.code));
      } else if (code == QueryFunction.QUERY_SERVER_INFORMATION.code) {
        out.add(new Item.Text(Tag.VENDOR_IDENTIFICATION, VENDOR));
        out.add(
            new Item.Struct(
                Tag.SERVER_INFORMATION,
                List.of(new Item.Text(Tag.SERVER_NAME, "OpenKCM gateway"))));
      }
    }
    return new Item.Struct(Tag.RESPONSE_PAYLOAD, sorted(out));
  }

  /** Operations first, then object types, then the vendor, as the payload's order requires. */
  private static List<Item> sorted(List<Item> items) {
    List<Item> out = new ArrayList<>();
    for (Tag t :
        List.of(
            Tag.OPERATION, Tag.OBJECT_TYPE, Tag.VENDOR_IDENTIFICATION, Tag.SERVER_INFORMATION)) {
      for (Item i : items) {
        if (i.tag() == t.code) {
          out.add(i);
        }
      }
    }
    return out;
  }
}
