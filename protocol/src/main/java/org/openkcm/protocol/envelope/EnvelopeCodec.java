package org.openkcm.protocol.envelope;

import static org.openkcm.protocol.envelope.EnvelopeException.Reason.ENVELOPE_BAD_MAGIC;
import static org.openkcm.protocol.envelope.EnvelopeException.Reason.ENVELOPE_MALFORMED;
import static org.openkcm.protocol.envelope.EnvelopeException.Reason.ENVELOPE_TRUNCATED;
import static org.openkcm.protocol.envelope.EnvelopeException.Reason.ENVELOPE_UNSUPPORTED_VERSION;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Binary layout of the wrapped-key envelope, format version 1 (specified in {@code
 * protocol/ENVELOPE.md}).
 *
 * <pre>
 *   magic 'K' 'C' | version 0x01 | tenant len (1) | tenant | service len (1) | service |
 *   L3 version (uint32 BE) | key length (1) | nonce (12) | ciphertext (key length) | tag (16)
 * </pre>
 */
public final class EnvelopeCodec {

  public static final byte MAGIC_0 = 'K';
  public static final byte MAGIC_1 = 'C';
  public static final byte FORMAT_VERSION = 1;
  public static final int NONCE_LENGTH = 12;
  public static final int TAG_LENGTH = 16;
  public static final int MAX_KEY_LENGTH = 64;

  /**
   * magic(2) + version(1) + 2 id lengths + 2 ids + L3 version(4) + key length(1) + nonce + max key
   * + tag.
   */
  public static final int MAX_ENVELOPE_LENGTH =
      2
          + 1
          + 1
          + Identifiers.MAX_LENGTH
          + 1
          + Identifiers.MAX_LENGTH
          + 4
          + 1
          + NONCE_LENGTH
          + MAX_KEY_LENGTH
          + TAG_LENGTH;

  private EnvelopeCodec() {}

  /**
   * The authenticated header bytes for {@code header} and a wrapped key of {@code keyLength} bytes.
   */
  public static byte[] encodeHeader(EnvelopeHeader header, int keyLength) {
    if (keyLength < 1 || keyLength > MAX_KEY_LENGTH) {
      throw new IllegalArgumentException(
          "key length must be 1.." + MAX_KEY_LENGTH + ", was " + keyLength);
    }
    byte[] t = header.tenantId().getBytes(StandardCharsets.US_ASCII);
    byte[] s = header.serviceId().getBytes(StandardCharsets.US_ASCII);
    byte[] out = new byte[3 + 1 + t.length + 1 + s.length + 4 + 1];
    int i = 0;
    out[i++] = MAGIC_0;
    out[i++] = MAGIC_1;
    out[i++] = FORMAT_VERSION;
    out[i++] = (byte) t.length;
    System.arraycopy(t, 0, out, i, t.length);
    i += t.length;
    out[i++] = (byte) s.length;
    System.arraycopy(s, 0, out, i, s.length);
    i += s.length;
    long v = header.l3Version();
    out[i++] = (byte) (v >>> 24);
    out[i++] = (byte) (v >>> 16);
    out[i++] = (byte) (v >>> 8);
    out[i++] = (byte) v;
    out[i] = (byte) keyLength;
    return out;
  }

  /** Parses {@code bytes} into an envelope, checking structure only (no cryptography). */
  public static Envelope decode(byte[] bytes) throws EnvelopeException {
    if (bytes == null || bytes.length == 0) {
      throw new EnvelopeException(ENVELOPE_TRUNCATED, "envelope is empty");
    }
    if (bytes.length > MAX_ENVELOPE_LENGTH) {
      throw new EnvelopeException(
          ENVELOPE_MALFORMED,
          "envelope is "
              + bytes.length
              + " bytes; a version-1 envelope is at most "
              + MAX_ENVELOPE_LENGTH);
    }
    if (bytes.length < 3) {
      throw truncated(bytes.length, "format version");
    }
    if (bytes[0] != MAGIC_0 || bytes[1] != MAGIC_1) {
      throw new EnvelopeException(
          ENVELOPE_BAD_MAGIC,
          "not an OpenKCM envelope (it must start with the bytes 'KC'); was it base64-decoded exactly once?");
    }
    if (bytes[2] != FORMAT_VERSION) {
      throw new EnvelopeException(
          ENVELOPE_UNSUPPORTED_VERSION,
          "envelope format version "
              + (bytes[2] & 0xFF)
              + " is not supported; this build reads version "
              + FORMAT_VERSION);
    }
    int i = 3;
    if (bytes.length < i + 1) {
      throw truncated(bytes.length, "tenant id length");
    }
    int tLen = bytes[i++] & 0xFF;
    String tenant = readId(bytes, i, tLen, "tenant");
    i += tLen;
    if (bytes.length < i + 1) {
      throw truncated(bytes.length, "service id length");
    }
    int sLen = bytes[i++] & 0xFF;
    String service = readId(bytes, i, sLen, "service");
    i += sLen;
    if (bytes.length < i + 4) {
      throw truncated(bytes.length, "L3 version");
    }
    long l3Version =
        ((bytes[i] & 0xFFL) << 24)
            | ((bytes[i + 1] & 0xFFL) << 16)
            | ((bytes[i + 2] & 0xFFL) << 8)
            | (bytes[i + 3] & 0xFFL);
    i += 4;
    if (l3Version == 0) {
      throw new EnvelopeException(
          ENVELOPE_MALFORMED, "envelope names L3 version 0; versions start at 1");
    }
    if (bytes.length < i + 1) {
      throw truncated(bytes.length, "key length");
    }
    int keyLength = bytes[i++] & 0xFF;
    if (keyLength == 0 || keyLength > MAX_KEY_LENGTH) {
      throw new EnvelopeException(
          ENVELOPE_MALFORMED,
          "envelope announces a " + keyLength + "-byte key; it must be 1.." + MAX_KEY_LENGTH);
    }
    int headerEnd = i;
    int expected = headerEnd + NONCE_LENGTH + keyLength + TAG_LENGTH;
    if (bytes.length < expected) {
      throw new EnvelopeException(
          ENVELOPE_TRUNCATED,
          "envelope is truncated: "
              + bytes.length
              + " bytes where its header announces "
              + expected);
    }
    if (bytes.length > expected) {
      throw new EnvelopeException(
          ENVELOPE_MALFORMED,
          "envelope has "
              + (bytes.length - expected)
              + " trailing bytes after its tag ("
              + bytes.length
              + " bytes where its header announces "
              + expected
              + ")");
    }
    byte[] nonce = Arrays.copyOfRange(bytes, i, i + NONCE_LENGTH);
    i += NONCE_LENGTH;
    byte[] ct = Arrays.copyOfRange(bytes, i, bytes.length);
    return new Envelope(
        new EnvelopeHeader(tenant, service, l3Version),
        Arrays.copyOfRange(bytes, 0, headerEnd),
        nonce,
        ct);
  }

  private static String readId(byte[] bytes, int offset, int len, String kind)
      throws EnvelopeException {
    if (len == 0 || len > Identifiers.MAX_LENGTH) {
      throw new EnvelopeException(
          ENVELOPE_MALFORMED,
          "envelope "
              + kind
              + " id length is "
              + len
              + "; it must be 1.."
              + Identifiers.MAX_LENGTH);
    }
    if (bytes.length < offset + len) {
      throw truncated(bytes.length, kind + " id");
    }
    String id = new String(bytes, offset, len, StandardCharsets.ISO_8859_1);
    if (!Identifiers.isValid(id)) {
      throw new EnvelopeException(
          ENVELOPE_MALFORMED, "envelope " + kind + " id is not a valid identifier");
    }
    return id;
  }

  private static EnvelopeException truncated(int length, String what) {
    return new EnvelopeException(
        ENVELOPE_TRUNCATED, "envelope is truncated: " + length + " bytes end before its " + what);
  }
}
