package org.openkcm.kmip.ttlv;

/** The TTLV item types (one byte on the wire) and the length each fixed-size type must have. */
public enum ItemType {
  STRUCTURE(0x01, -1),
  INTEGER(0x02, 4),
  LONG_INTEGER(0x03, 8),
  BIG_INTEGER(0x04, -1),
  ENUMERATION(0x05, 4),
  BOOLEAN(0x06, 8),
  TEXT_STRING(0x07, -1),
  BYTE_STRING(0x08, -1),
  DATE_TIME(0x09, 8),
  INTERVAL(0x0A, 4),
  DATE_TIME_EXTENDED(0x0B, 8);

  public final int code;

  /** The only length allowed, or -1 when it varies. */
  public final int fixedLength;

  ItemType(int code, int fixedLength) {
    this.code = code;
    this.fixedLength = fixedLength;
  }

  public static ItemType of(int code) {
    for (ItemType t : values()) {
      if (t.code == code) {
        return t;
      }
    }
    throw new TtlvException("unknown item type 0x" + Integer.toHexString(code));
  }
}
