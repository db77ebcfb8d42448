package org.openkcm.core.seal;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * This node's master key: the Core's own key, held in memory only. Everything sensitive the Core persists
 * (the L1-wrapped L2, the L2-wrapped L3s) is additionally sealed with it, so a database dump alone is
 * useless. A node starts sealed; {@link #install} unseals it, {@link #wipe} seals it again.
 *
 * <p>Sealed blob: {@code 'M' 'K' 0x01 | nonce (12) | AES-256-GCM ciphertext | tag (16)}, AAD = purpose.
 */
public final class MasterKey {

  private static final byte[] MAGIC = {'M', 'K', 1};
  private static final int NONCE = 12;
  private static final byte[] CHECK = "openkcm master key check v1".getBytes(StandardCharsets.UTF_8);

  private final AtomicReference<Optional<KeyMaterial>> key = new AtomicReference<>(Optional.empty());
  private final SecureRandom random = new SecureRandom();

  /** A sealed holder (the normal start of a node). */
  public MasterKey() {}

  /** An unsealed holder around {@code key} (tests, and right after initialisation). */
  public static MasterKey unsealedWith(KeyMaterial key) {
    MasterKey m = new MasterKey();
    m.install(key);
    return m;
  }

  public boolean isUnsealed() {
    return key.get().isPresent();
  }

  public void install(KeyMaterial master) {
    if (master.length() != 32) {
      throw new IllegalArgumentException("a master key is 32 bytes");
    }
    key.getAndSet(Optional.of(master)).ifPresent(old -> {
      if (old != master) {
        old.wipe();
      }
    });
  }

  /** Forgets the master key (zeroised). */
  public void wipe() {
    key.getAndSet(Optional.empty()).ifPresent(KeyMaterial::wipe);
  }

  /** Seals {@code data} for {@code purpose}; fails with CORE_SEALED while sealed. */
  public byte[] seal(byte[] data, String purpose) {
    KeyMaterial k = current();
    byte[] nonce = new byte[NONCE];
    random.nextBytes(nonce);
    byte[] raw = k.revealBytes();
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(raw, "AES"), new GCMParameterSpec(128, nonce));
      c.updateAAD(purpose.getBytes(StandardCharsets.UTF_8));
      byte[] ct = c.doFinal(data);
      byte[] out = new byte[MAGIC.length + NONCE + ct.length];
      System.arraycopy(MAGIC, 0, out, 0, MAGIC.length);
      System.arraycopy(nonce, 0, out, MAGIC.length, NONCE);
      System.arraycopy(ct, 0, out, MAGIC.length + NONCE, ct.length);
      return out;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM unavailable: " + e.getClass().getSimpleName(), e);
    } finally {
      Arrays.fill(raw, (byte) 0);
    }
  }

  /**
   * Opens a blob sealed for {@code purpose}. A blob written before master-key sealing existed (no magic) is
   * returned as is.
   */
  public byte[] open(byte[] blob, String purpose) {
    if (!isSealedBlob(blob)) {
      return blob;
    }
    KeyMaterial k = current();
    byte[] raw = k.revealBytes();
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(raw, "AES"), new GCMParameterSpec(128, blob, MAGIC.length, NONCE));
      c.updateAAD(purpose.getBytes(StandardCharsets.UTF_8));
      return c.doFinal(blob, MAGIC.length + NONCE, blob.length - MAGIC.length - NONCE);
    } catch (GeneralSecurityException e) {
      throw new OpenKcmException(ErrorReason.INTERNAL,
          "a persisted blob (" + purpose + ") does not open with this cluster's master key");
    } finally {
      Arrays.fill(raw, (byte) 0);
    }
  }

  /** The verification blob persisted with the seal configuration. */
  public byte[] checkBlob() {
    return seal(CHECK, "master-key-check");
  }

  /** Whether {@code candidate} is the key that made {@code checkBlob}. */
  public static boolean verifies(KeyMaterial candidate, byte[] checkBlob) {
    try {
      return Arrays.equals(CHECK, unsealedWith(KeyMaterial.copyOf(candidate.revealBytes())).open(checkBlob, "master-key-check"));
    } catch (OpenKcmException e) {
      return false;
    }
  }

  public static boolean isSealedBlob(byte[] blob) {
    return blob.length > MAGIC.length + NONCE + 16 && blob[0] == MAGIC[0] && blob[1] == MAGIC[1] && blob[2] == MAGIC[2];
  }

  private KeyMaterial current() {
    return key.get().orElseThrow(() -> new OpenKcmException(ErrorReason.CORE_SEALED,
        "this Core node is sealed: unseal it (admin unseal --share ..., or auto-unseal) before it serves keys"));
  }

  @Override
  public String toString() {
    return "MasterKey[" + (isUnsealed() ? "unsealed" : "sealed") + "]";
  }
}
