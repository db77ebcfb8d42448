package org.openkcm.core.seal;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import javax.crypto.AEADBadTagException;
import org.openkcm.protocol.crypto.AesGcm;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * This node's master key: the Core's own key, held in memory only. Everything sensitive the Core
 * persists (the L1-wrapped L2, the L2-wrapped L3s) is additionally sealed with it, so a database
 * dump alone is useless. A node starts sealed; {@link #install} unseals it, {@link #wipe} seals it
 * again.
 *
 * <p>Sealed blob: {@code 'M' 'K' 0x01 | nonce (12) | AES-256-GCM ciphertext | tag (16)}, AAD =
 * purpose. Only such blobs open: an unsealed blob (a data dir written before master-key sealing) is
 * refused until {@code admin migrate-seal} has sealed it.
 */
public final class MasterKey {

  private static final byte[] MAGIC = {'M', 'K', 1};
  private static final int NONCE = 12;
  private static final byte[] CHECK =
      "openkcm master key check v1".getBytes(StandardCharsets.UTF_8);

  private final AtomicReference<Optional<AesGcm>> key = new AtomicReference<>(Optional.empty());
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

  /**
   * Unseals with {@code master}, taking ownership: its bytes move into the primitive and it is
   * wiped.
   */
  public void install(KeyMaterial master) {
    if (master.length() != AesGcm.KEY_BYTES) {
      throw new IllegalArgumentException("a master key is 32 bytes");
    }
    AesGcm aes = AesGcm.of(master);
    master.wipe();
    key.getAndSet(Optional.of(aes)).ifPresent(AesGcm::destroy);
  }

  /** Forgets the master key (zeroised). */
  public void wipe() {
    key.getAndSet(Optional.empty()).ifPresent(AesGcm::destroy);
  }

  /** Seals {@code data} for {@code purpose}; fails with CORE_SEALED while sealed. */
  public byte[] seal(byte[] data, String purpose) {
    AesGcm k = current();
    byte[] out = new byte[MAGIC.length + NONCE + data.length + AesGcm.TAG_BYTES];
    System.arraycopy(MAGIC, 0, out, 0, MAGIC.length);
    byte[] nonce = new byte[NONCE];
    random.nextBytes(nonce);
    System.arraycopy(nonce, 0, out, MAGIC.length, NONCE);
    k.seal(
        nonce,
        data,
        0,
        data.length,
        out,
        MAGIC.length + NONCE,
        purpose.getBytes(StandardCharsets.UTF_8));
    return out;
  }

  /**
   * Opens a blob sealed for {@code purpose}; anything else (an unsealed or altered blob) is
   * refused.
   */
  public byte[] open(byte[] blob, String purpose) {
    if (!isSealedBlob(blob)) {
      throw new OpenKcmException(
          ErrorReason.INTERNAL,
          "a persisted blob ("
              + purpose
              + ") is not sealed with a "
              + "master key; data written before master-key sealing is not accepted");
    }
    AesGcm k = current();
    try {
      return k.open(
          blob,
          MAGIC.length,
          blob,
          MAGIC.length + NONCE,
          blob.length - MAGIC.length - NONCE,
          purpose.getBytes(StandardCharsets.UTF_8));
    } catch (AEADBadTagException e) {
      throw new OpenKcmException(
          ErrorReason.INTERNAL,
          "a persisted blob (" + purpose + ") does not open with this cluster's master key");
    }
  }

  /** The verification blob persisted with the seal configuration. */
  public byte[] checkBlob() {
    return seal(CHECK, "master-key-check");
  }

  /** Whether {@code candidate} is the key that made {@code checkBlob}. */
  public static boolean verifies(KeyMaterial candidate, byte[] checkBlob) {
    try {
      return Arrays.equals(
          CHECK,
          unsealedWith(KeyMaterial.copyOf(candidate.revealBytes()))
              .open(checkBlob, "master-key-check"));
    } catch (OpenKcmException e) {
      return false;
    }
  }

  public static boolean isSealedBlob(byte[] blob) {
    return blob.length > MAGIC.length + NONCE + 16
        && blob[0] == MAGIC[0]
        && blob[1] == MAGIC[1]
        && blob[2] == MAGIC[2];
  }

  private AesGcm current() {
    return key.get()
        .orElseThrow(
            () ->
                new OpenKcmException(
                    ErrorReason.CORE_SEALED,
                    "this Core node is sealed: unseal it (admin unseal --share ..., or auto-unseal) before it serves keys"));
  }

  @Override
  public String toString() {
    return "MasterKey[" + (isUnsealed() ? "unsealed" : "sealed") + "]";
  }
}
