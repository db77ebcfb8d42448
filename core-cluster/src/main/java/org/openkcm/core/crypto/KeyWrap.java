package org.openkcm.core.crypto;

import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import org.openkcm.protocol.crypto.AesGcm;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * Wraps one key under another with AES-256-GCM ({@link AesGcm}) and caller-chosen additional
 * authenticated data. Blob layout: {@code 0x01 | nonce (12) | ciphertext | tag (16)}. Used for
 * L3-under-L2 and by the development L1 keystore; the DEK envelope has its own format in {@code
 * protocol/}.
 */
public final class KeyWrap {

  private static final byte VERSION = 1;
  private static final int NONCE = AesGcm.NONCE_BYTES;
  private static final int TAG = AesGcm.TAG_BYTES;

  private KeyWrap() {}

  public static byte[] wrap(KeyMaterial kek, KeyMaterial key, byte[] aad, SecureRandom random) {
    byte[] nonce = new byte[NONCE];
    random.nextBytes(nonce);
    AesGcm aes = AesGcm.of(kek);
    byte[] plain = key.revealBytes();
    try {
      byte[] out = new byte[1 + NONCE + plain.length + TAG];
      out[0] = VERSION;
      System.arraycopy(nonce, 0, out, 1, NONCE);
      aes.seal(nonce, plain, 0, plain.length, out, 1 + NONCE, aad);
      return out;
    } finally {
      aes.destroy();
      Arrays.fill(plain, (byte) 0);
    }
  }

  /** Opens a blob made by {@link #wrap}; throws when it was altered or the AAD differs. */
  public static KeyMaterial unwrap(KeyMaterial kek, byte[] blob, byte[] aad)
      throws GeneralSecurityException {
    if (blob == null || blob.length < 1 + NONCE + TAG + 1 || blob[0] != VERSION) {
      throw new GeneralSecurityException("not a version-1 wrapped key blob");
    }
    AesGcm aes = AesGcm.of(kek);
    try {
      return KeyMaterial.adopt(aes.open(blob, 1, blob, 1 + NONCE, blob.length - 1 - NONCE, aad));
    } finally {
      aes.destroy();
    }
  }
}
