package org.openkcm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.openkcm.node.audit.AuditChain;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;

/**
 * A tenant's audit checkpoints in a file of its own, one JSON line each ({@code seq}, {@code hash}
 * in hex, {@code algorithm}, {@code signature} and {@code certificate} in base64): written by
 * {@code admin audit export --checkpoints}, kept by the tenant outside the database, read back by
 * {@code admin audit verify --anchor} (only {@code seq} and {@code hash} count there).
 */
final class AuditAnchors {

  private static final ObjectMapper JSON = new ObjectMapper();

  private AuditAnchors() {}

  static int write(List<AuditChain.Checkpoint> checkpoints, Path file) throws IOException {
    List<String> lines = new ArrayList<>();
    for (AuditChain.Checkpoint c : checkpoints) {
      Map<String, Object> line = new LinkedHashMap<>();
      line.put("seq", c.seq());
      line.put("hash", HexFormat.of().formatHex(c.hash()));
      line.put("algorithm", c.algorithm());
      line.put(
          "signature",
          c.signature() == null ? null : Base64.getEncoder().encodeToString(c.signature()));
      line.put(
          "certificate",
          c.signer().isEmpty() ? null : Base64.getEncoder().encodeToString(encoded(c)));
      lines.add(JSON.writeValueAsString(line));
    }
    Files.write(file, lines, StandardCharsets.UTF_8);
    return lines.size();
  }

  private static byte[] encoded(AuditChain.Checkpoint c) {
    try {
      return c.signer().get().getEncoded();
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }

  static List<AuditChain.Checkpoint> read(Path file) {
    List<AuditChain.Checkpoint> out = new ArrayList<>();
    int n = 0;
    try {
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        n++;
        if (line.isBlank()) {
          continue;
        }
        JsonNode j = JSON.readTree(line);
        if (!j.path("seq").canConvertToLong() || !j.path("hash").isTextual()) {
          throw new OpenKcmException(
              ErrorReason.INVALID_ARGUMENT,
              file
                  + " line "
                  + n
                  + ": an anchor needs seq and hash (admin audit export --checkpoints)");
        }
        out.add(
            new AuditChain.Checkpoint(
                j.get("seq").asLong(),
                HexFormat.of().parseHex(j.get("hash").asText()),
                null,
                null,
                Optional.empty()));
      }
    } catch (IOException | IllegalArgumentException e) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT,
          "cannot read the anchors " + file + " (line " + n + "): " + e.getMessage());
    }
    return out;
  }
}
