package org.openkcm.core.crypto;

import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * Wraps one key under another with AES-256-GCM and caller-chosen additional authenticated data.
 * Blob layout: {@code 0x01 | nonce (12) | ciphertext | tag (16)}. Used for L3-under-L2 and by the
 * development L1 keystore; the DEK envelope has its own format in {@code protocol/}.
 */
public final class KeyWrap {

  private static final byte VERSION = 1;
  private static final int NONCE = 12;
  private static final int TAG = 16;

  private KeyWrap() {}

  public static byte[] wrap(KeyMaterial kek, KeyMaterial key, byte[] aad, SecureRandom random) {
    byte[] nonce = new byte[NONCE];
    random.nextBytes(nonce);
    byte[] k = kek.revealBytes();
    byte[] plain = key.revealBytes();
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(k, "AES"), new GCMParameterSpec(TAG * 8, nonce));
      c.updateAAD(aad);
      byte[] out = new byte[1 + NONCE + plain.length + TAG];
      out[0] = VERSION;
      System.arraycopy(nonce, 0, out, 1, NONCE);
      c.doFinal(plain, 0, plain.length, out, 1 + NONCE);
      return out;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM unavailable: " + e.getClass().getSimpleName(), e);
    } finally {
      Arrays.fill(k, (byte) 0);
      Arrays.fill(plain, (byte) 0);
    }
  }

  /** Opens a blob made by {@link #wrap}; throws when it was altered or the AAD differs. */
  public static KeyMaterial unwrap(KeyMaterial kek, byte[] blob, byte[] aad) throws GeneralSecurityException {
    if (blob == null || blob.length < 1 + NONCE + TAG + 1 || blob[0] != VERSION) {
      throw new GeneralSecurityException("not a version-1 wrapped key blob");
    }
    byte[] k = kek.revealBytes();
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(k, "AES"), new GCMParameterSpec(TAG * 8, blob, 1, NONCE));
      c.updateAAD(aad);
      return KeyMaterial.adopt(c.doFinal(blob, 1 + NONCE, blob.length - 1 - NONCE));
    } finally {
      Arrays.fill(k, (byte) 0);
    }
  }
}
