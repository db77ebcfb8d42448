package org.openkcm.kmip.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.openkcm.kmip.message.ObjectState;
import org.openkcm.kmip.message.ObjectType;
import org.openkcm.kmip.ttlv.Item;
import org.openkcm.kmip.ttlv.Tag;

class ObjectCodecTest {

  @Test
  void storedObjectsComeBackWhole() {
    ManagedObject o =
        new ManagedObject(
            "u1",
            new Owner("acme", "billing"),
            ObjectType.SECRET_DATA,
            ObjectState.ACTIVE,
            List.of(
                new Attribute(
                    "Name",
                    1,
                    new Item.Struct(
                        Tag.ATTRIBUTE_VALUE,
                        List.of(
                            new Item.Text(Tag.NAME_VALUE, "n"),
                            new Item.Enumeration(Tag.NAME_TYPE, 1)))),
                ManagedObject.date("Initial Date", Instant.ofEpochSecond(1_700_000_000L))),
            Optional.of(new byte[] {1, 2, 3}),
            Instant.parse("2026-12-01T10:00:00.123456Z"),
            new ManagedObject.Format(2, Optional.of(1)));
    ManagedObject back = ObjectCodec.decode(ObjectCodec.encode(o));
    assertEquals(o.uid(), back.uid());
    assertEquals(o.owner(), back.owner());
    assertEquals(o.state(), back.state());
    assertEquals(o.attributes(), back.attributes());
    assertEquals(o.created(), back.created());
    assertEquals(o.format(), back.format());
    assertArrayEquals(o.protectedMaterial().get(), back.protectedMaterial().get());
    ManagedObject destroyed = ObjectCodec.decode(ObjectCodec.encode(o.destroyed(Instant.now())));
    assertEquals(Optional.empty(), destroyed.protectedMaterial());
    assertEquals(ObjectState.DESTROYED, destroyed.state());
  }
}
