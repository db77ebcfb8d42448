package org.openkcm.kmip.ttlv;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * KMIP's binary TTLV: 3-byte tag, 1-byte type, 4-byte length, value padded to 8 bytes. Strict:
 * every tag must be a standard one (or in the extension range), fixed-size types must have their
 * size, padding must be zero, booleans 0 or 1, text valid UTF-8, structures exactly filled by their
 * children, and the message within {@link Limits}. Anything else is a {@link TtlvException}; no
 * input makes it throw anything else, loop or allocate more than the message's length.
 */
public final class TtlvCodec {

  /** Bounds on what one message may be. */
  public record Limits(int maxMessageBytes, int maxDepth, int maxItems) {
    public static final Limits DEFAULT = new Limits(1 << 20, 16, 10_000);

    public Limits {
      if (maxMessageBytes < 16 || maxDepth < 1 || maxItems < 1) {
        throw new IllegalArgumentException(
            "KMIP limits must be positive (message at least 16 bytes)");
      }
    }
  }

  private static final int HEADER = 8;

  private TtlvCodec() {}

  /**
   * Reads one whole message (its header and the length it announces) from {@code in}; null at a
   * clean end of stream before the first byte.
   */
  public static byte[] readMessage(InputStream in, Limits limits) throws IOException {
    byte[] header = new byte[HEADER];
    int first = in.read();
    if (first < 0) {
      return null;
    }
    header[0] = (byte) first;
    readFully(in, header, 1, HEADER - 1);
    ByteBuffer h = ByteBuffer.wrap(header);
    int tag = (h.getInt(0) >>> 8);
    if (tag != Tag.REQUEST_MESSAGE.code && tag != Tag.RESPONSE_MESSAGE.code) {
      throw new TtlvException(
          "a KMIP message starts with a Request Message structure, not tag " + Item.tagName(tag));
    }
    if ((header[3] & 0xFF) != ItemType.STRUCTURE.code) {
      throw new TtlvException("a KMIP message is a structure");
    }
    long length = Integer.toUnsignedLong(h.getInt(4));
    if (length > limits.maxMessageBytes() - HEADER) {
      throw new TtlvException(
          "message of "
              + (length + HEADER)
              + " bytes is over this server's limit of "
              + limits.maxMessageBytes());
    }
    byte[] message = new byte[HEADER + (int) length];
    System.arraycopy(header, 0, message, 0, HEADER);
    readFully(in, message, HEADER, (int) length);
    return message;
  }

  private static void readFully(InputStream in, byte[] b, int off, int len) throws IOException {
    while (len > 0) {
      int n = in.read(b, off, len);
      if (n < 0) {
        throw new EOFException("connection closed in the middle of a KMIP message");
      }
      off += n;
      len -= n;
    }
  }

  /** Decodes one item that must fill {@code message} exactly. */
  public static Item decode(byte[] message, Limits limits) {
    if (message.length > limits.maxMessageBytes()) {
      throw new TtlvException(
          "message is over the limit of " + limits.maxMessageBytes() + " bytes");
    }
    Reader r = new Reader(ByteBuffer.wrap(message), limits);
    Item item = r.item(1);
    if (r.buf.hasRemaining()) {
      throw new TtlvException(r.buf.remaining() + " bytes after the end of the message");
    }
    return item;
  }

  private static final class Reader {
    final ByteBuffer buf;
    final Limits limits;
    int items;

    Reader(ByteBuffer buf, Limits limits) {
      this.buf = buf;
      this.limits = limits;
    }

    Item item(int depth) {
      if (depth > limits.maxDepth()) {
        throw new TtlvException("structures nested deeper than " + limits.maxDepth());
      }
      if (++items > limits.maxItems()) {
        throw new TtlvException("more than " + limits.maxItems() + " items in one message");
      }
      if (buf.remaining() < HEADER) {
        throw new TtlvException("truncated item header at offset " + buf.position());
      }
      int start = buf.position();
      int tagAndType = buf.getInt();
      int tag = tagAndType >>> 8;
      if (!Tag.known(tag)) {
        throw new TtlvException(
            "unknown tag 0x" + Integer.toHexString(tag) + " at offset " + start);
      }
      ItemType type = ItemType.of(tagAndType & 0xFF);
      long length = Integer.toUnsignedLong(buf.getInt());
      if (type.fixedLength >= 0 && length != type.fixedLength) {
        throw new TtlvException(
            type
                + " "
                + Item.tagName(tag)
                + " has length "
                + length
                + ", must be "
                + type.fixedLength);
      }
      long padded = (length + 7) & ~7L;
      if (padded > buf.remaining()) {
        throw new TtlvException(
            Item.tagName(tag)
                + " announces "
                + length
                + " bytes, only "
                + buf.remaining()
                + " left");
      }
      int len = (int) length;
      Item out =
          switch (type) {
            case STRUCTURE -> structure(tag, len, depth);
            case INTEGER -> new Item.Int(tag, buf.getInt());
            case LONG_INTEGER -> new Item.LongInt(tag, buf.getLong());
            case BIG_INTEGER -> {
              if (len == 0 || len % 8 != 0) {
                throw new TtlvException("Big Integer length must be a positive multiple of 8");
              }
              byte[] b = new byte[len];
              buf.get(b);
              yield new Item.BigInt(tag, new BigInteger(b));
            }
            case ENUMERATION -> new Item.Enumeration(tag, buf.getInt());
            case BOOLEAN -> {
              long v = buf.getLong();
              if (v != 0 && v != 1) {
                throw new TtlvException("Boolean " + Item.tagName(tag) + " must be 0 or 1");
              }
              yield new Item.Bool(tag, v == 1);
            }
            case TEXT_STRING -> new Item.Text(tag, utf8(tag, len));
            case BYTE_STRING -> {
              byte[] b = new byte[len];
              buf.get(b);
              yield new Item.Bytes(tag, b);
            }
            case DATE_TIME -> new Item.DateTime(tag, buf.getLong());
            case INTERVAL -> new Item.Interval(tag, buf.getInt());
            case DATE_TIME_EXTENDED -> new Item.DateTimeExtended(tag, buf.getLong());
          };
      if (type != ItemType.STRUCTURE) {
        for (long i = length; i < padded; i++) {
          if (buf.get() != 0) {
            throw new TtlvException("non-zero padding after " + Item.tagName(tag));
          }
        }
      }
      return out;
    }

    Item structure(int tag, int len, int depth) {
      if (len % 8 != 0) {
        throw new TtlvException(
            "structure " + Item.tagName(tag) + " length is not a multiple of 8");
      }
      int end = buf.position() + len;
      List<Item> children = new ArrayList<>();
      ByteBuffer whole = buf;
      int limit = whole.limit();
      whole.limit(end);
      try {
        while (whole.position() < end) {
          children.add(item(depth + 1));
        }
      } finally {
        whole.limit(limit);
      }
      return new Item.Struct(tag, children);
    }

    String utf8(int tag, int len) {
      ByteBuffer slice = buf.slice();
      slice.limit(len);
      buf.position(buf.position() + len);
      try {
        CharBuffer chars =
            StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(slice);
        return chars.toString();
      } catch (CharacterCodingException e) {
        throw new TtlvException("Text String " + Item.tagName(tag) + " is not valid UTF-8");
      }
    }
  }

  /** Encodes {@code item} (and its children). */
  public static byte[] encode(Item item) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    write(item, out);
    return out.toByteArray();
  }

  private static void write(Item item, ByteArrayOutputStream out) {
    byte[] value = value(item);
    ByteBuffer header = ByteBuffer.allocate(HEADER);
    header.putInt((item.tag() << 8) | item.type().code);
    header.putInt(value.length);
    out.writeBytes(header.array());
    out.writeBytes(value);
    int pad = (8 - value.length % 8) % 8;
    out.write(new byte[pad], 0, pad);
  }

  private static byte[] value(Item item) {
    if (item instanceof Item.Struct s) {
      ByteArrayOutputStream inner = new ByteArrayOutputStream();
      for (Item child : s.items()) {
        write(child, inner);
      }
      return inner.toByteArray();
    } else if (item instanceof Item.Int i) {
      return ByteBuffer.allocate(4).putInt(i.value()).array();
    } else if (item instanceof Item.LongInt l) {
      return ByteBuffer.allocate(8).putLong(l.value()).array();
    } else if (item instanceof Item.BigInt b) {
      return bigInteger(b.value());
    } else if (item instanceof Item.Enumeration e) {
      return ByteBuffer.allocate(4).putInt(e.value()).array();
    } else if (item instanceof Item.Bool b) {
      return ByteBuffer.allocate(8).putLong(b.value() ? 1 : 0).array();
    } else if (item instanceof Item.Text t) {
      return t.value().getBytes(StandardCharsets.UTF_8);
    } else if (item instanceof Item.Bytes b) {
      return b.value();
    } else if (item instanceof Item.DateTime d) {
      return ByteBuffer.allocate(8).putLong(d.seconds()).array();
    } else if (item instanceof Item.Interval i) {
      return ByteBuffer.allocate(4).putInt(i.seconds()).array();
    } else {
      return ByteBuffer.allocate(8).putLong(((Item.DateTimeExtended) item).micros()).array();
    }
  }

  /** Two's complement, sign-extended to a multiple of 8 bytes. */
  private static byte[] bigInteger(BigInteger v) {
    byte[] raw = v.toByteArray();
    int len = ((raw.length + 7) / 8) * 8;
    byte[] out = new byte[len];
    byte fill = (byte) (v.signum() < 0 ? 0xFF : 0);
    java.util.Arrays.fill(out, 0, len - raw.length, fill);
    System.arraycopy(raw, 0, out, len - raw.length, raw.length);
    return out;
  }
}
