package org.openkcm.core.keystore;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.regex.Pattern;
import org.openkcm.core.crypto.KeyWrap;
import org.openkcm.core.keystore.L1KeystoreException.Kind;
import org.openkcm.node.audit.AuditLog;
import org.openkcm.protocol.key.KeyMaterial;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * DEVELOPMENT ONLY. An "L1 keystore" whose root keys sit in plain text in a file under the data
 * directory ({@value #FILE_NAME}, mode 0600). It exists so that the demo and tests run with no KMS
 * or HSM; it gives none of the guarantees of a customer-held key. Every start logs a warning saying
 * so.
 *
 * <p>Reference form: {@code devfile:<key-id>}. Keys can be disabled and re-enabled to rehearse
 * revocation.
 */
public final class DevFileKeystore implements L1Keystore {

  public static final String SCHEME = "devfile";
  public static final String FILE_NAME = "dev-l1-keystore.properties";

  private static final Logger log = LoggerFactory.getLogger(DevFileKeystore.class);
  private static final Pattern KEY_ID = Pattern.compile("[A-Za-z0-9._-]{1,128}");

  private final Path file;
  private final boolean autoCreateKeys;
  private final Executor blockingExecutor;
  private final SecureRandom random = new SecureRandom();

  public DevFileKeystore(Path directory, boolean autoCreateKeys, Executor blockingExecutor) {
    this.file = directory.resolve(FILE_NAME);
    this.autoCreateKeys = autoCreateKeys;
    this.blockingExecutor = blockingExecutor;
    log.warn(
        "DEVELOPMENT L1 KEYSTORE in use ({}): root keys are stored in plain text on this machine. "
            + "NOT FOR PRODUCTION: customers' keys belong in their own KMS or HSM.",
        file);
  }

  @Override
  public String scheme() {
    return SCHEME;
  }

  /** Creates a new enabled key (fails if it exists). */
  public synchronized void createKey(String keyId) {
    Map<String, String> keys = load();
    checkKeyId(keyId);
    if (keys.containsKey(keyId)) {
      throw new L1KeystoreException(
          Kind.UNSUPPORTED_REFERENCE, "dev keystore key '" + keyId + "' already exists");
    }
    byte[] k = new byte[32];
    random.nextBytes(k);
    keys.put(keyId, "enabled:" + Base64.getEncoder().encodeToString(k));
    java.util.Arrays.fill(k, (byte) 0);
    store(keys);
    log.warn("dev keystore: created key '{}' (DEVELOPMENT ONLY)", keyId);
  }

  /** Disables or re-enables a key, as a customer would in their KMS. */
  public synchronized void setEnabled(String keyId, boolean enabled) {
    Map<String, String> keys = load();
    String entry = keys.get(keyId);
    if (entry == null) {
      throw new L1KeystoreException(Kind.KEY_NOT_FOUND, "dev keystore has no key '" + keyId + "'");
    }
    keys.put(keyId, (enabled ? "enabled:" : "disabled:") + entry.substring(entry.indexOf(':') + 1));
    store(keys);
    log.warn("dev keystore: key '{}' {}", keyId, enabled ? "enabled" : "disabled");
  }

  public synchronized boolean exists(String keyId) {
    return load().containsKey(keyId);
  }

  @Override
  public CompletionStage<byte[]> wrap(
      L1Reference key, KeyMaterial plaintext, Map<String, String> ctx, String cid) {
    return CompletableFuture.supplyAsync(
        () -> {
          KeyMaterial kek = usableKey(key, true);
          try {
            byte[] blob = KeyWrap.wrap(kek, plaintext, aad(ctx), random);
            AuditLog.record(
                "l1.wrap", "keystore", "devfile", "key", key.keyId(), "cid", cid, "outcome", "ok");
            return blob;
          } finally {
            kek.wipe();
          }
        },
        blockingExecutor);
  }

  @Override
  public CompletionStage<KeyMaterial> unwrap(
      L1Reference key, byte[] wrapped, Map<String, String> ctx, String cid) {
    return CompletableFuture.supplyAsync(
        () -> {
          KeyMaterial kek = usableKey(key, false);
          try {
            KeyMaterial out = KeyWrap.unwrap(kek, wrapped, aad(ctx));
            AuditLog.record(
                "l1.unwrap",
                "keystore",
                "devfile",
                "key",
                key.keyId(),
                "cid",
                cid,
                "outcome",
                "ok");
            return out;
          } catch (GeneralSecurityException e) {
            AuditLog.record(
                "l1.unwrap",
                "keystore",
                "devfile",
                "key",
                key.keyId(),
                "cid",
                cid,
                "outcome",
                "invalid-ciphertext");
            throw new L1KeystoreException(
                Kind.INVALID_CIPHERTEXT,
                "dev keystore key '"
                    + key.keyId()
                    + "' cannot open this blob (other key or other encryption context)");
          } finally {
            kek.wipe();
          }
        },
        blockingExecutor);
  }

  private synchronized KeyMaterial usableKey(L1Reference ref, boolean mayCreate) {
    checkKeyId(ref.keyId());
    Map<String, String> keys = load();
    String entry = keys.get(ref.keyId());
    if (entry == null && mayCreate && autoCreateKeys) {
      createKey(ref.keyId());
      entry = load().get(ref.keyId());
    }
    if (entry == null) {
      AuditLog.record("l1.use", "keystore", "devfile", "key", ref.keyId(), "outcome", "not-found");
      throw new L1KeystoreException(
          Kind.KEY_NOT_FOUND, "dev keystore has no key '" + ref.keyId() + "'");
    }
    if (entry.startsWith("disabled:")) {
      AuditLog.record("l1.use", "keystore", "devfile", "key", ref.keyId(), "outcome", "disabled");
      throw new L1KeystoreException(
          Kind.KEY_DISABLED, "dev keystore key '" + ref.keyId() + "' is disabled");
    }
    return KeyMaterial.adopt(Base64.getDecoder().decode(entry.substring(entry.indexOf(':') + 1)));
  }

  private static void checkKeyId(String keyId) {
    if (keyId == null || !KEY_ID.matcher(keyId).matches()) {
      throw new L1KeystoreException(
          Kind.UNSUPPORTED_REFERENCE,
          "dev keystore key id must be 1-128 characters of letters, digits, '.', '_' or '-'");
    }
  }

  /** AAD = the encryption context as sorted "key=value\n" lines. */
  private static byte[] aad(Map<String, String> ctx) {
    StringBuilder b = new StringBuilder("openkcm-devfile-l1\n");
    new TreeMap<>(ctx).forEach((k, v) -> b.append(k).append('=').append(v).append('\n'));
    return b.toString().getBytes(StandardCharsets.UTF_8);
  }

  private Map<String, String> load() {
    Map<String, String> keys = new TreeMap<>();
    if (!Files.exists(file)) {
      return keys;
    }
    try {
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        if (line.isBlank() || line.startsWith("#")) {
          continue;
        }
        int eq = line.indexOf('=');
        if (eq > 0) {
          keys.put(line.substring(0, eq), line.substring(eq + 1));
        }
      }
      return keys;
    } catch (IOException e) {
      throw new L1KeystoreException(
          Kind.UNAVAILABLE, "dev keystore file " + file + " unreadable: " + e.getMessage());
    }
  }

  private void store(Map<String, String> keys) {
    StringBuilder b =
        new StringBuilder(
            "# OpenKCM DEVELOPMENT L1 keystore: plain-text root keys. NOT FOR PRODUCTION.\n");
    keys.forEach((k, v) -> b.append(k).append('=').append(v).append('\n'));
    try {
      Files.createDirectories(file.getParent());
      Path tmp =
          Files.createTempFile(
              file.getParent(),
              FILE_NAME,
              ".tmp",
              PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.writeString(tmp, b, StandardCharsets.UTF_8);
      try {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write dev keystore file " + file, e);
    }
  }
}
