package org.openkcm.kmip.ttlv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The encodings of the KMIP specification's examples, and what a strict reader refuses. */
class TtlvCodecTest {

  private static final HexFormat HEX = HexFormat.of();
  private static final TtlvCodec.Limits LIMITS = TtlvCodec.Limits.DEFAULT;

  private static byte[] hex(String s) {
    return HEX.parseHex(s.replace(" ", "").replace("|", ""));
  }

  @Test
  void encodesTheSpecificationExamples() {
    // KMIP 1.4 spec, 9.1.2 examples (tag 0x420020 = Compromise Date)
    assertArrayEquals(
        hex("420020 | 02 | 00000004 | 00000008 00000000"),
        TtlvCodec.encode(new Item.Int(0x420020, 8)));
    assertArrayEquals(
        hex("420020 | 03 | 00000008 | 01B69B4BA5749200"),
        TtlvCodec.encode(new Item.LongInt(0x420020, 123456789000000000L)));
    assertArrayEquals(
        hex("420020 | 04 | 00000010 | 0000000003FD35EB 6BC2DF4618080000"),
        TtlvCodec.encode(
            new Item.BigInt(0x420020, new BigInteger("1234567890000000000000000000"))));
    assertArrayEquals(
        hex("420020 | 05 | 00000004 | 000000FF 00000000"),
        TtlvCodec.encode(new Item.Enumeration(0x420020, 255)));
    assertArrayEquals(
        hex("420020 | 06 | 00000008 | 0000000000000001"),
        TtlvCodec.encode(new Item.Bool(0x420020, true)));
    assertArrayEquals(
        hex("420020 | 07 | 0000000B | 48656C6C6F20576F726C64 0000000000"),
        TtlvCodec.encode(new Item.Text(0x420020, "Hello World")));
    assertArrayEquals(
        hex("420020 | 08 | 00000003 | 010203 0000000000"),
        TtlvCodec.encode(new Item.Bytes(0x420020, new byte[] {1, 2, 3})));
    assertArrayEquals(
        hex("420020 | 09 | 00000008 | 0000000047DA67F8"),
        TtlvCodec.encode(new Item.DateTime(0x420020, 0x47DA67F8L)));
    assertArrayEquals(
        hex("420020 | 0A | 00000004 | 000D2F00 00000000"),
        TtlvCodec.encode(new Item.Interval(0x420020, 864000)));
    assertArrayEquals(
        hex(
            "420020 | 01 | 00000020 | 420004 | 05 | 00000004 | 000000FE 00000000 | 420050 | 02 |"
                + " 00000004 | 000000FF 00000000"),
        TtlvCodec.encode(
            new Item.Struct(
                0x420020,
                List.of(new Item.Enumeration(0x420004, 254), new Item.Int(0x420050, 255)))));
  }

  @Test
  void decodesWhatItEncodes() {
    Item message =
        new Item.Struct(
            Tag.REQUEST_MESSAGE,
            List.of(
                new Item.Text(Tag.NAME_VALUE, "päßwort-Ω"),
                new Item.Bytes(Tag.KEY_MATERIAL, new byte[33]),
                new Item.Bool(Tag.SENSITIVE, false),
                new Item.BigInt(Tag.MODULUS.code, BigInteger.valueOf(-5)),
                new Item.DateTimeExtended(Tag.REQUEST_MESSAGE.code, 5L),
                new Item.Struct(Tag.BATCH_ITEM, List.of())));
    assertEquals(message, TtlvCodec.decode(TtlvCodec.encode(message), LIMITS));
  }

  @Test
  void refusesMalformedItems() {
    String[] bad = {
      "420020 | 02 | 00000008 | 0000000800000000", // integer of length 8
      "420020 | 02 | 00000004 | 00000008 00000001", // non-zero padding
      "420020 | 06 | 00000008 | 0000000000000002", // boolean 2
      "420020 | 07 | 00000002 | C328 000000000000", // invalid UTF-8
      "420020 | 0C | 00000004 | 00000008 00000000", // unknown type
      "430020 | 02 | 00000004 | 00000008 00000000", // unknown tag
      "420020 | 08 | 00000010 | 0102030405060708", // length past the end
      "420020 | 01 | 00000004 | 00000000", // structure length not a multiple of 8
      "420020 | 01 | 00000008 | 420020 | 02 | 00000004 | 00000008 00000000", // child overflows
      "420020 | 04 | 00000004 | 00000001 00000000", // big integer not a multiple of 8
      "420020 | 02 | 00000004 | 00000008 00000000 | 00", // trailing byte
    };
    for (String b : bad) {
      assertThrows(TtlvException.class, () -> TtlvCodec.decode(hex(b), LIMITS), b);
    }
  }

  @Test
  void boundsDepthItemsAndSize() {
    Item deep = new Item.Int(0x420020, 1);
    for (int i = 0; i < 20; i++) {
      deep = new Item.Struct(0x420020, List.of(deep));
    }
    byte[] encoded = TtlvCodec.encode(deep);
    TtlvException depth =
        assertThrows(TtlvException.class, () -> TtlvCodec.decode(encoded, LIMITS));
    assertTrue(depth.getMessage().contains("deeper"));
    TtlvException items =
        assertThrows(
            TtlvException.class,
            () -> TtlvCodec.decode(encoded, new TtlvCodec.Limits(1 << 20, 64, 5)));
    assertTrue(items.getMessage().contains("items"));

    byte[] header = hex("420078 | 01 | 7FFFFFF0");
    TtlvException size =
        assertThrows(
            TtlvException.class,
            () -> TtlvCodec.readMessage(new ByteArrayInputStream(header), LIMITS));
    assertTrue(size.getMessage().contains("over this server's limit"));
  }

  @Test
  void keyBytesNeverPrint() {
    Item key = new Item.Bytes(Tag.KEY_MATERIAL, HEX.parseHex("deadbeefcafebabe"));
    assertTrue(key.toString().contains("8 bytes"), key.toString());
    assertFalse(key.toString().toLowerCase().contains("deadbeef"), key.toString());
    assertFalse(
        new Item.Struct(Tag.KEY_VALUE, List.of(key)).toString().contains("-34"),
        "the byte values are not printed");
  }
}
