package org.openkcm.protocol.envelope;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * The caller's encryption context: a small string map bound into an envelope as additional
 * authenticated data. Presenting a different context on unwrap makes the envelope fail to open.
 *
 * <p>Its canonical byte form (see {@code protocol/ENVELOPE.md}) sorts entries by the unsigned UTF-8
 * bytes of their keys, so every language computes the same AAD.
 */
public final class EncryptionContext {

  public static final int MAX_ENTRIES = 32;
  public static final int MAX_KEY_BYTES = 128;
  public static final int MAX_VALUE_BYTES = 1024;

  private static final EncryptionContext EMPTY =
      new EncryptionContext(new TreeMap<>(), new byte[] {0, 0});

  private final Map<String, String> entries;
  private final byte[] canonical;

  private EncryptionContext(TreeMap<String, String> entries, byte[] canonical) {
    this.entries = Collections.unmodifiableMap(entries);
    this.canonical = canonical;
  }

  public static EncryptionContext empty() {
    return EMPTY;
  }

  /**
   * Validates and freezes {@code map}; rejects it with {@code INVALID_CONTEXT} when a limit is
   * exceeded.
   */
  public static EncryptionContext of(Map<String, String> map) throws EnvelopeException {
    if (map == null || map.isEmpty()) {
      return EMPTY;
    }
    if (map.size() > MAX_ENTRIES) {
      throw invalid("encryption context has " + map.size() + " entries; at most " + MAX_ENTRIES);
    }
    TreeMap<byte[], String[]> sorted = new TreeMap<>(Arrays::compareUnsigned);
    for (Map.Entry<String, String> e : map.entrySet()) {
      String key = e.getKey();
      String value = e.getValue() == null ? "" : e.getValue();
      if (key == null || key.isEmpty()) {
        throw invalid("encryption context has an empty key");
      }
      byte[] k = key.getBytes(StandardCharsets.UTF_8);
      byte[] v = value.getBytes(StandardCharsets.UTF_8);
      if (k.length > MAX_KEY_BYTES) {
        throw invalid("encryption context key of " + k.length + " bytes; at most " + MAX_KEY_BYTES);
      }
      if (v.length > MAX_VALUE_BYTES) {
        throw invalid(
            "encryption context value for key '"
                + abbreviate(key)
                + "' is "
                + v.length
                + " bytes; at most "
                + MAX_VALUE_BYTES);
      }
      sorted.put(k, new String[] {key, value});
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    writeU16(out, sorted.size());
    TreeMap<String, String> frozen = new TreeMap<>();
    for (Map.Entry<byte[], String[]> e : sorted.entrySet()) {
      byte[] v = e.getValue()[1].getBytes(StandardCharsets.UTF_8);
      writeU16(out, e.getKey().length);
      out.writeBytes(e.getKey());
      writeU16(out, v.length);
      out.writeBytes(v);
      frozen.put(e.getValue()[0], e.getValue()[1]);
    }
    return new EncryptionContext(frozen, out.toByteArray());
  }

  public Map<String, String> entries() {
    return entries;
  }

  public boolean isEmpty() {
    return entries.isEmpty();
  }

  /**
   * The canonical encoding appended to the AAD: sorted entries, every key and value
   * length-prefixed, so two different contexts never encode alike. Not secret.
   */
  public byte[] canonicalBytes() {
    return canonical;
  }

  private static void writeU16(ByteArrayOutputStream out, int v) {
    out.write((v >>> 8) & 0xFF);
    out.write(v & 0xFF);
  }

  private static EnvelopeException invalid(String message) {
    return new EnvelopeException(EnvelopeException.Reason.INVALID_CONTEXT, message);
  }

  private static String abbreviate(String s) {
    return s.length() <= 40 ? s : s.substring(0, 40) + "...";
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof EncryptionContext other && entries.equals(other.entries);
  }

  @Override
  public int hashCode() {
    return entries.hashCode();
  }

  @Override
  public String toString() {
    return "EncryptionContext" + entries.keySet();
  }

  /**
   * Parses the contexts of one batch, reusing the last result while items repeat its context (bulk
   * calls share one, often the very same map). Not thread-safe: one per batch.
   */
  public static final class Memo {
    private Map<String, String> last;
    private EncryptionContext parsed;

    public EncryptionContext of(Map<String, String> map) throws EnvelopeException {
      if (parsed != null && (map == last || (map != null && map.equals(last)))) {
        return parsed;
      }
      EncryptionContext c = EncryptionContext.of(map);
      last = map;
      parsed = c;
      return c;
    }
  }
}
