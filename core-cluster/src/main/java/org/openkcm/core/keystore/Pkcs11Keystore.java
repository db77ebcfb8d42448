package org.openkcm.core.keystore;

import com.typesafe.config.Config;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.security.Provider;
import java.security.ProviderException;
import java.security.SecureRandom;
import java.security.Security;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import org.openkcm.core.keystore.L1KeystoreException.Kind;
import org.openkcm.node.audit.AuditLog;
import org.openkcm.protocol.key.KeyMaterial;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * L1 on a PKCS#11 token (HYOK), through the JDK's SunPKCS11 provider; tested against SoftHSM2. The
 * L1 is a non-extractable AES key on the token; L2 is wrapped with AES-256-GCM inside the token
 * (the L1 bytes never enter this JVM), the encryption context as additional authenticated data.
 *
 * <p>Reference: {@code pkcs11:token=<token label>;object=<key label>} (RFC 7512 attributes). The
 * token is opened once with the configured library, slot and PIN; the key is looked up on every
 * call, so a key deleted on the token stops working at once.
 */
public final class Pkcs11Keystore implements L1Keystore {

  public static final String SCHEME = "pkcs11";
  private static final Logger log = LoggerFactory.getLogger(Pkcs11Keystore.class);
  private static final byte[] MAGIC = {'P', '1'};
  private static final int NONCE = 12;

  /** Settings from {@code openkcm.core.keystore.pkcs11}. The PIN is never logged. */
  public record Settings(
      String library, String tokenLabel, long slot, int slotListIndex, char[] pin) {

    public static Settings fromConfig(Config c) {
      String pinFile = c.getString("pin-file");
      char[] pin;
      try {
        pin =
            pinFile.isBlank()
                ? c.getString("pin").toCharArray()
                : Files.readString(Path.of(pinFile), StandardCharsets.UTF_8).strip().toCharArray();
      } catch (IOException e) {
        throw new IllegalArgumentException(
            "cannot read the PKCS#11 PIN file " + pinFile + ": " + e.getMessage());
      }
      return new Settings(
          c.getString("library"),
          c.getString("token-label"),
          c.getLong("slot"),
          c.getInt("slot-list-index"),
          pin);
    }

    @Override
    public String toString() {
      return "Settings[library="
          + library
          + ", token="
          + tokenLabel
          + ", slot="
          + slot
          + ", pin=***]";
    }
  }

  private final Settings settings;
  private final Provider provider;
  private final Executor blocking;
  private final SecureRandom random = new SecureRandom();

  public Pkcs11Keystore(Settings settings, Executor blocking) {
    this.settings = settings;
    this.blocking = blocking;
    if (!Files.isReadable(Path.of(settings.library()))) {
      throw new IllegalArgumentException(
          "PKCS#11 library " + settings.library() + " not found (is softhsm2 installed?)");
    }
    String config =
        "--name=OpenKCM-"
            + settings.tokenLabel()
            + "\nlibrary="
            + settings.library()
            + "\n"
            + (settings.slot() >= 0
                ? "slot=" + settings.slot()
                : "slotListIndex=" + settings.slotListIndex())
            + "\n";
    this.provider = Security.getProvider("SunPKCS11").configure(config);
    log.info("PKCS#11 L1 driver enabled ({})", settings);
  }

  @Override
  public String scheme() {
    return SCHEME;
  }

  @Override
  public CompletionStage<Void> validate(L1Reference key, String cid) {
    return call(key, "validate", cid, k -> null);
  }

  @Override
  public CompletionStage<byte[]> wrap(
      L1Reference key, KeyMaterial plaintext, Map<String, String> ctx, String cid) {
    return call(
        key,
        "wrap",
        cid,
        k -> {
          byte[] nonce = new byte[NONCE];
          random.nextBytes(nonce);
          byte[] raw = plaintext.revealBytes();
          try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding", provider);
            c.init(Cipher.ENCRYPT_MODE, k, new GCMParameterSpec(128, nonce));
            c.updateAAD(aad(ctx));
            byte[] ct = c.doFinal(raw);
            byte[] out = new byte[MAGIC.length + NONCE + ct.length];
            System.arraycopy(MAGIC, 0, out, 0, MAGIC.length);
            System.arraycopy(nonce, 0, out, MAGIC.length, NONCE);
            System.arraycopy(ct, 0, out, MAGIC.length + NONCE, ct.length);
            return out;
          } catch (GeneralSecurityException e) {
            throw new L1KeystoreException(
                Kind.UNAVAILABLE, "PKCS#11 encrypt failed: " + e.getMessage());
          } finally {
            Arrays.fill(raw, (byte) 0);
          }
        });
  }

  @Override
  public CompletionStage<KeyMaterial> unwrap(
      L1Reference key, byte[] wrapped, Map<String, String> ctx, String cid) {
    return call(
        key,
        "unwrap",
        cid,
        k -> {
          if (wrapped.length < MAGIC.length + NONCE + 17
              || wrapped[0] != MAGIC[0]
              || wrapped[1] != MAGIC[1]) {
            throw new L1KeystoreException(Kind.INVALID_CIPHERTEXT, "not a PKCS#11-wrapped blob");
          }
          try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding", provider);
            c.init(Cipher.DECRYPT_MODE, k, new GCMParameterSpec(128, wrapped, MAGIC.length, NONCE));
            c.updateAAD(aad(ctx));
            return KeyMaterial.adopt(
                c.doFinal(wrapped, MAGIC.length + NONCE, wrapped.length - MAGIC.length - NONCE));
          } catch (AEADBadTagException e) {
            throw new L1KeystoreException(
                Kind.INVALID_CIPHERTEXT,
                "PKCS#11 key "
                    + key.keyId()
                    + " cannot open this blob (other key or other encryption context)");
          } catch (GeneralSecurityException e) {
            throw new L1KeystoreException(
                Kind.UNAVAILABLE, "PKCS#11 decrypt failed: " + e.getMessage());
          }
        });
  }

  private <T> CompletionStage<T> call(
      L1Reference ref, String operation, String cid, Function<SecretKey, T> body) {
    return CompletableFuture.supplyAsync(
        () -> {
          long start = System.nanoTime();
          try {
            T result = body.apply(findKey(ref));
            AuditLog.record(
                "l1." + operation,
                "keystore",
                "pkcs11",
                "key",
                ref.keyId(),
                "cid",
                cid,
                "outcome",
                "ok",
                "ms",
                (System.nanoTime() - start) / 1_000_000);
            return result;
          } catch (L1KeystoreException e) {
            AuditLog.record(
                "l1." + operation,
                "keystore",
                "pkcs11",
                "key",
                ref.keyId(),
                "cid",
                cid,
                "outcome",
                e.kind());
            throw e;
          } catch (ProviderException e) {
            L1KeystoreException mapped = map(ref, e);
            AuditLog.record(
                "l1." + operation,
                "keystore",
                "pkcs11",
                "key",
                ref.keyId(),
                "cid",
                cid,
                "outcome",
                mapped.kind());
            throw mapped;
          }
        },
        blocking);
  }

  /** Looks the key up on the token now (a deleted key is gone at once). */
  private SecretKey findKey(L1Reference ref) {
    Map<String, String> attrs = attributes(ref);
    String token = attrs.get("token");
    String object = attrs.get("object");
    if (object == null || object.isBlank()) {
      throw new L1KeystoreException(
          Kind.UNSUPPORTED_REFERENCE,
          "PKCS#11 reference must name the key: pkcs11:token=<label>;object=<key label>");
    }
    if (token != null && !token.equals(settings.tokenLabel())) {
      throw new L1KeystoreException(
          Kind.UNSUPPORTED_REFERENCE,
          "PKCS#11 token '"
              + token
              + "' is not configured on this node (configured: '"
              + settings.tokenLabel()
              + "')");
    }
    try {
      KeyStore ks = KeyStore.getInstance("PKCS11", provider);
      ks.load(null, settings.pin());
      Key key = ks.getKey(object, null);
      if (key == null) {
        throw new L1KeystoreException(
            Kind.KEY_NOT_FOUND,
            "PKCS#11 token " + settings.tokenLabel() + " has no key labelled '" + object + "'");
      }
      if (!(key instanceof SecretKey secret) || !"AES".equalsIgnoreCase(key.getAlgorithm())) {
        throw new L1KeystoreException(
            Kind.UNSUPPORTED_REFERENCE,
            "PKCS#11 object '"
                + object
                + "' is a "
                + key.getAlgorithm()
                + " key; an L1 must be an AES secret key");
      }
      return secret;
    } catch (IOException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      String msg = String.valueOf(cause.getMessage());
      if (msg.contains("CKR_PIN") || cause instanceof javax.security.auth.login.LoginException) {
        throw new L1KeystoreException(
            Kind.ACCESS_DENIED, "PKCS#11 login to token " + settings.tokenLabel() + " refused");
      }
      throw new L1KeystoreException(
          Kind.UNAVAILABLE, "PKCS#11 token " + settings.tokenLabel() + " unusable: " + msg);
    } catch (GeneralSecurityException e) {
      throw new L1KeystoreException(
          Kind.UNAVAILABLE, "PKCS#11 token " + settings.tokenLabel() + ": " + e.getMessage());
    }
  }

  static Map<String, String> attributes(L1Reference ref) {
    Map<String, String> out = new HashMap<>();
    for (String part : ref.keyId().split(";")) {
      int eq = part.indexOf('=');
      if (eq > 0) {
        out.put(
            part.substring(0, eq).strip(),
            java.net.URLDecoder.decode(part.substring(eq + 1), StandardCharsets.UTF_8));
      }
    }
    return out;
  }

  private static L1KeystoreException map(L1Reference ref, ProviderException e) {
    String msg = String.valueOf(e.getCause() != null ? e.getCause().getMessage() : e.getMessage());
    if (msg.contains("CKR_KEY_HANDLE_INVALID") || msg.contains("CKR_OBJECT_HANDLE_INVALID")) {
      return new L1KeystoreException(
          Kind.KEY_NOT_FOUND, "PKCS#11 key " + ref.keyId() + " no longer exists");
    }
    if (msg.contains("CKR_KEY_FUNCTION_NOT_PERMITTED") || msg.contains("CKR_USER_NOT_LOGGED_IN")) {
      return new L1KeystoreException(
          Kind.ACCESS_DENIED, "PKCS#11 key " + ref.keyId() + " refused: " + msg);
    }
    return new L1KeystoreException(Kind.UNAVAILABLE, "PKCS#11 token failed: " + msg);
  }

  private static byte[] aad(Map<String, String> ctx) {
    StringBuilder b = new StringBuilder("openkcm-pkcs11-l1\n");
    new TreeMap<>(ctx).forEach((k, v) -> b.append(k).append('=').append(v).append('\n'));
    return b.toString().getBytes(StandardCharsets.UTF_8);
  }
}
