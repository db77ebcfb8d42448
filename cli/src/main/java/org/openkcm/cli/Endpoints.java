package org.openkcm.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.Optional;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;

/**
 * {@code DATA_DIR/endpoints.json}: where a running demo stack listens, for the CLI and scripts
 * (including the REST base URL of the governance API, {@code rest}); {@code tlsDir} holds the CLI's
 * client certificate when the stack runs with mTLS (null when plaintext).
 */
public record Endpoints(
    String core,
    String gateway,
    String profile,
    long pid,
    String startedAt,
    String dataDir,
    String tlsDir,
    String rest) {

  public static final String FILE_NAME = "endpoints.json";
  private static final ObjectMapper JSON = new ObjectMapper();

  public static Endpoints now(
      String core, String gateway, String profile, Path dataDir, Optional<Path> tlsDir) {
    return new Endpoints(
        core,
        gateway,
        profile,
        ProcessHandle.current().pid(),
        Instant.now().toString(),
        dataDir.toAbsolutePath().toString(),
        tlsDir.map(d -> d.toAbsolutePath().toString()).orElse(null),
        (tlsDir.isPresent() ? "https://" : "http://") + core + "/v1/");
  }

  public void write(Path dataDir) throws IOException {
    Path tmp = Files.createTempFile(dataDir, FILE_NAME, ".tmp");
    JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), this);
    Files.move(
        tmp,
        dataDir.resolve(FILE_NAME),
        StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);
  }

  public static Endpoints read(Path dataDir) {
    Path file = dataDir.resolve(FILE_NAME);
    if (!Files.exists(file)) {
      throw new OpenKcmException(
          ErrorReason.CORE_UNAVAILABLE,
          "no "
              + file
              + ": is `./openkcm demo --data-dir "
              + dataDir
              + "` running? (or pass --gateway/--core HOST:PORT)");
    }
    try {
      return JSON.readValue(file.toFile(), Endpoints.class);
    } catch (IOException e) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT, "cannot read " + file + ": " + e.getMessage());
    }
  }

  public static void delete(Path dataDir) {
    try {
      Files.deleteIfExists(dataDir.resolve(FILE_NAME));
    } catch (IOException e) {
      // best effort on shutdown; a stale file only makes the CLI report an unreachable endpoint
    }
  }
}
