package org.openkcm.kmip.server;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.openkcm.kmip.message.Items;
import org.openkcm.kmip.message.ObjectState;
import org.openkcm.kmip.message.ObjectType;
import org.openkcm.kmip.ttlv.Item;
import org.openkcm.kmip.ttlv.Tag;
import org.openkcm.kmip.ttlv.TtlvCodec;

/**
 * A {@link ManagedObject} as stored: one TTLV structure under OpenKCM's extension tags (0x54xxxx),
 * its attributes in their KMIP 1.x form. The key material inside is only ever the protected blob.
 */
public final class ObjectCodec {

  private static final int OBJECT = 0x540001;
  private static final int UID = 0x540002;
  private static final int TENANT = 0x540003;
  private static final int SERVICE = 0x540004;
  private static final int TYPE = 0x540005;
  private static final int STATE = 0x540006;
  private static final int CREATED = 0x540007;
  private static final int KEY_FORMAT = 0x540008;
  private static final int SECRET_TYPE = 0x540009;
  private static final int MATERIAL = 0x54000A;
  private static final int ATTRIBUTES = 0x54000B;

  private static final TtlvCodec.Limits LIMITS = new TtlvCodec.Limits(16 << 20, 16, 100_000);

  private ObjectCodec() {}

  public static byte[] encode(ManagedObject o) {
    List<Item> items = new ArrayList<>();
    items.add(new Item.Text(UID, o.uid()));
    items.add(new Item.Text(TENANT, o.owner().tenant()));
    items.add(new Item.Text(SERVICE, o.owner().service()));
    items.add(new Item.Enumeration(TYPE, o.type().code));
    items.add(new Item.Enumeration(STATE, o.state().code));
    items.add(
        new Item.DateTimeExtended(
            CREATED, o.created().getEpochSecond() * 1_000_000 + o.created().getNano() / 1_000));
    items.add(new Item.Int(KEY_FORMAT, o.format().keyFormatType()));
    o.format().secretDataType().ifPresent(t -> items.add(new Item.Int(SECRET_TYPE, t)));
    o.protectedMaterial().ifPresent(m -> items.add(new Item.Bytes(MATERIAL, m)));
    items.add(
        new Item.Struct(ATTRIBUTES, o.attributes().stream().map(a -> (Item) indexed(a)).toList()));
    return TtlvCodec.encode(new Item.Struct(OBJECT, items));
  }

  private static Item.Struct indexed(Attribute a) {
    return new Item.Struct(
        Tag.ATTRIBUTE,
        List.of(
            new Item.Text(Tag.ATTRIBUTE_NAME, a.name()),
            new Item.Int(Tag.ATTRIBUTE_INDEX, a.index()),
            a.value()));
  }

  public static ManagedObject decode(byte[] stored) {
    Item.Struct s = (Item.Struct) TtlvCodec.decode(stored, LIMITS);
    if (s.tag() != OBJECT) {
      throw new IllegalStateException("not a stored KMIP object");
    }
    List<Attribute> attrs = new ArrayList<>();
    for (Item a : field(s, ATTRIBUTES, Item.Struct.class).items()) {
      Item.Struct as = (Item.Struct) a;
      attrs.add(
          new Attribute(
              Items.optText(as, Tag.ATTRIBUTE_NAME).orElseThrow(),
              Items.optInteger(as, Tag.ATTRIBUTE_INDEX).orElse(0),
              as.find(Tag.ATTRIBUTE_VALUE).orElseThrow()));
    }
    long micros = field(s, CREATED, Item.DateTimeExtended.class).micros();
    return new ManagedObject(
        field(s, UID, Item.Text.class).value(),
        new Owner(
            field(s, TENANT, Item.Text.class).value(), field(s, SERVICE, Item.Text.class).value()),
        ObjectType.of(field(s, TYPE, Item.Enumeration.class).value()).orElseThrow(),
        ObjectState.of(field(s, STATE, Item.Enumeration.class).value()).orElseThrow(),
        attrs,
        optional(s, MATERIAL, Item.Bytes.class).map(Item.Bytes::value),
        Instant.ofEpochSecond(micros / 1_000_000, (micros % 1_000_000) * 1_000),
        new ManagedObject.Format(
            field(s, KEY_FORMAT, Item.Int.class).value(),
            optional(s, SECRET_TYPE, Item.Int.class).map(Item.Int::value)));
  }

  private static <T extends Item> T field(Item.Struct s, int tag, Class<T> type) {
    return optional(s, tag, type)
        .orElseThrow(() -> new IllegalStateException("stored KMIP object lacks field " + tag));
  }

  private static <T extends Item> Optional<T> optional(Item.Struct s, int tag, Class<T> type) {
    return s.items().stream().filter(i -> i.tag() == tag).findFirst().map(type::cast);
  }
}
