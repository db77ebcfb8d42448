package org.openkcm.node.audit;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * Rows of a trail's {@code records} table in PostgreSQL's binary COPY format ({@code COPY … FROM
 * STDIN (FORMAT binary)}): the server parses no text — no timestamps, no hex, no escapes — and the
 * writer escapes nothing. Layout (PostgreSQL documentation, "COPY", binary format): the signature
 * {@code PGCOPY\n\377\r\n\0}, flags and header-extension length (both 0), then per row the field
 * count and each field as length and bytes, then {@code -1}.
 */
final class CopyRows {

  private static final byte[] SIGNATURE = {
    'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xff, '\r', '\n', 0
  };

  /** 2000-01-01T00:00:00Z, PostgreSQL's epoch for timestamps, in seconds since 1970. */
  private static final long PG_EPOCH_SECONDS = 946_684_800L;

  private final ByteArrayOutputStream bytes;
  private final DataOutputStream out;

  CopyRows(int expectedRows) {
    this.bytes = new ByteArrayOutputStream(64 + expectedRows * 400);
    this.out = new DataOutputStream(bytes);
    try {
      out.write(SIGNATURE);
      out.writeInt(0);
      out.writeInt(0);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a byte array does not fail
    }
  }

  /**
   * One row of {@code (seq, at, event, body, prev_hash, hash)}; {@code at} in microseconds, {@code
   * body} in UTF-8.
   */
  void add(long seq, Instant at, String event, byte[] body, byte[] prevHash, byte[] hash) {
    try {
      out.writeShort(6);
      out.writeInt(8);
      out.writeLong(seq);
      out.writeInt(8);
      out.writeLong(
          Math.multiplyExact(at.getEpochSecond() - PG_EPOCH_SECONDS, 1_000_000L)
              + at.getNano() / 1_000);
      text(event);
      out.writeInt(body.length);
      out.write(body);
      out.writeInt(prevHash.length);
      out.write(prevHash);
      out.writeInt(hash.length);
      out.write(hash);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void text(String v) throws IOException {
    byte[] b = v.getBytes(StandardCharsets.UTF_8);
    out.writeInt(b.length);
    out.write(b);
  }

  /** The stream, with its trailer. */
  byte[] toBytes() {
    try {
      out.writeShort(-1);
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }
}
