package org.openkcm.protocol.envelope;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads {@code vectors/envelope-v1.txt}: blocks of "field: value" lines separated by blank lines.
 */
record EnvelopeVectors(
    String name,
    byte[] l3Key,
    String tenant,
    String service,
    long l3Version,
    byte[] nonce,
    byte[] plaintext,
    Map<String, String> context,
    byte[] envelope) {

  static List<EnvelopeVectors> load() throws IOException {
    try (InputStream in = EnvelopeVectors.class.getResourceAsStream("/vectors/envelope-v1.txt")) {
      String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      List<EnvelopeVectors> out = new ArrayList<>();
      for (String block : text.split("\n\n")) {
        if (!block.isBlank()) {
          out.add(parse(block));
        }
      }
      return out;
    }
  }

  private static EnvelopeVectors parse(String block) {
    Map<String, String> fields = new LinkedHashMap<>();
    Map<String, String> context = new LinkedHashMap<>();
    for (String line : block.strip().split("\n")) {
      int colon = line.indexOf(": ");
      String key = line.substring(0, colon);
      String value = line.substring(colon + 2);
      if (key.startsWith("context.")) {
        context.put(key.substring("context.".length()), value);
      } else {
        fields.put(key, value);
      }
    }
    HexFormat hex = HexFormat.of();
    return new EnvelopeVectors(
        fields.get("name"),
        hex.parseHex(fields.get("l3_key")),
        fields.get("tenant"),
        fields.get("service"),
        Long.parseLong(fields.get("l3_version")),
        hex.parseHex(fields.get("nonce")),
        hex.parseHex(fields.get("plaintext")),
        context,
        hex.parseHex(fields.get("envelope")));
  }

  @Override
  public String toString() {
    return name;
  }
}
