package org.openkcm.core.keystore;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A real SoftHSM2 token for tests. The library reads {@code SOFTHSM2_CONF} from the JVM's
 * environment, so Maven (surefire/failsafe) sets it to a file under {@code target/}; this class
 * writes that file, initialises one token per JVM before any PKCS#11 provider loads, and
 * creates/deletes keys with the real tools ({@code softhsm2-util}, {@code pkcs11-tool}) as an HSM
 * administrator would.
 */
public final class SoftHsm {

  public static final String LIBRARY = "/usr/lib/softhsm/libsofthsm2.so";
  public static final String PIN = "1234";
  private static final Pattern SLOT = Pattern.compile("reassigned to slot (\\d+)");
  private static SoftHsm shared;

  private final String tokenLabel;
  private final long slot;
  private int nextId = 1;

  private SoftHsm(String tokenLabel, long slot) {
    this.tokenLabel = tokenLabel;
    this.slot = slot;
  }

  /** The JVM's token (created on first use). */
  public static synchronized SoftHsm shared() throws IOException {
    if (shared == null) {
      String conf = System.getenv("SOFTHSM2_CONF");
      if (conf == null || conf.isBlank()) {
        throw new IllegalStateException(
            "SOFTHSM2_CONF is not set: run the tests through Maven, which sets it");
      }
      if (!Files.exists(Path.of(LIBRARY))) {
        throw new IllegalStateException(
            LIBRARY + " missing: apt-get install softhsm2 opensc (.ci/run does)");
      }
      Path confFile = Path.of(conf);
      Path tokens = confFile.resolveSibling("tokens");
      if (Files.exists(tokens)) {
        try (Stream<Path> walk = Files.walk(tokens)) {
          walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
      }
      Files.createDirectories(tokens);
      Files.writeString(
          confFile,
          "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\n",
          StandardCharsets.UTF_8);
      String label = "openkcm-test";
      String out =
          run(
              "softhsm2-util",
              "--init-token",
              "--free",
              "--label",
              label,
              "--pin",
              PIN,
              "--so-pin",
              "5678");
      Matcher m = SLOT.matcher(out);
      if (!m.find()) {
        throw new IllegalStateException("softhsm2-util did not say which slot it used: " + out);
      }
      shared = new SoftHsm(label, Long.parseLong(m.group(1)));
    }
    return shared;
  }

  public String tokenLabel() {
    return tokenLabel;
  }

  public Pkcs11Keystore.Settings settings() {
    return new Pkcs11Keystore.Settings(LIBRARY, tokenLabel, slot, 0, PIN.toCharArray());
  }

  /** The reference of a key labelled {@code label} on this token. */
  public L1Reference reference(String label) {
    return new L1Reference(Pkcs11Keystore.SCHEME, "token=" + tokenLabel + ";object=" + label);
  }

  /**
   * Generates a non-extractable AES-256 key on the token (pkcs11-tool's default for secret keys).
   */
  public synchronized void createAesKey(String label) throws IOException {
    run(
        "pkcs11-tool",
        "--module",
        LIBRARY,
        "--token-label",
        tokenLabel,
        "--login",
        "--pin",
        PIN,
        "--keygen",
        "--key-type",
        "AES:32",
        "--label",
        label,
        "--id",
        String.format("%04x", nextId++));
  }

  public void createHmacKey(String label) throws IOException {
    run(
        "pkcs11-tool",
        "--module",
        LIBRARY,
        "--token-label",
        tokenLabel,
        "--login",
        "--pin",
        PIN,
        "--keygen",
        "--key-type",
        "GENERIC:32",
        "--label",
        label,
        "--id",
        String.format("%04x", 0x8000 + nextId++));
  }

  /** Deletes the key, as a customer revoking an HSM-held root key would. */
  public void deleteKey(String label) throws IOException {
    run(
        "pkcs11-tool",
        "--module",
        LIBRARY,
        "--token-label",
        tokenLabel,
        "--login",
        "--pin",
        PIN,
        "--delete-object",
        "--type",
        "secrkey",
        "--label",
        label);
  }

  private static String run(String... command) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(command));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try {
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", cmd) + " did not finish in 60 s");
      }
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (p.exitValue() != 0) {
        throw new IOException(cmd.get(0) + " failed (" + p.exitValue() + "): " + out);
      }
      return out;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }
}
