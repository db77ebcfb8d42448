package org.openkcm.kmip.server;

import java.util.ArrayList;
import java.util.List;
import org.openkcm.kmip.message.Operation;
import org.openkcm.kmip.message.ProtocolVersion;
import org.openkcm.kmip.ttlv.Item;
import org.openkcm.kmip.ttlv.Tag;

/** Builds KMIP requests for the engine tests, the way a client encodes them. */
final class Requests {

  private Requests() {}

  record Op(Operation operation, List<Item> payload) {}

  static Op op(Operation operation, Item... payload) {
    return new Op(operation, List.of(payload));
  }

  static Item.Struct request(ProtocolVersion version, Op... ops) {
    List<Item> items = new ArrayList<>();
    items.add(
        new Item.Struct(
            Tag.REQUEST_HEADER,
            List.of(version.toItem(), new Item.Int(Tag.BATCH_COUNT, ops.length))));
    int id = 0;
    for (Op op : ops) {
      List<Item> batch = new ArrayList<>();
      batch.add(new Item.Enumeration(Tag.OPERATION, op.operation().code));
      if (ops.length > 1) {
        batch.add(new Item.Bytes(Tag.UNIQUE_BATCH_ITEM_ID, new byte[] {(byte) id++}));
      }
      batch.add(new Item.Struct(Tag.REQUEST_PAYLOAD, op.payload()));
      items.add(new Item.Struct(Tag.BATCH_ITEM, batch));
    }
    return new Item.Struct(Tag.REQUEST_MESSAGE, items);
  }

  /** A 1.x attribute. */
  static Item attribute(String name, Item value) {
    return new Item.Struct(Tag.ATTRIBUTE, List.of(new Item.Text(Tag.ATTRIBUTE_NAME, name), value));
  }

  static Item template(Item... attributes) {
    return new Item.Struct(Tag.TEMPLATE_ATTRIBUTE, List.of(attributes));
  }

  static Item aes256(String name) {
    return template(
        attribute("Cryptographic Algorithm", new Item.Enumeration(Tag.ATTRIBUTE_VALUE, 3)),
        attribute("Cryptographic Length", new Item.Int(Tag.ATTRIBUTE_VALUE, 256)),
        attribute(
            "Name",
            new Item.Struct(
                Tag.ATTRIBUTE_VALUE,
                List.of(
                    new Item.Text(Tag.NAME_VALUE, name), new Item.Enumeration(Tag.NAME_TYPE, 1)))));
  }

  static Item uid(String uid) {
    return new Item.Text(Tag.UNIQUE_IDENTIFIER, uid);
  }
}
