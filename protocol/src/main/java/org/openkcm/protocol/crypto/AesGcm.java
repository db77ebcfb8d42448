package org.openkcm.protocol.crypto;

import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * The one AES-256-GCM primitive of OpenKCM (envelopes, L3-under-L2 wrapping, the master key's
 * seal): 96-bit nonces, 128-bit tags, additional authenticated data in parts.
 *
 * <p>It owns the only copy of its key: made from a {@link KeyMaterial} (whose bytes it copies; the
 * caller wipes its own), handed to the JCA as a {@link SecretKey} of this class's own that gives
 * out short-lived copies, and zeroised by {@link #destroy()}, after which every use throws. (The
 * JCA provider derives a key schedule from each copy inside its cipher object; that stays in the
 * provider's memory until the cipher is initialised with another key: the limit of what a JVM lets
 * us wipe.) Thread-safe.
 */
public final class AesGcm {

  public static final int KEY_BYTES = 32;
  public static final int NONCE_BYTES = 12;
  public static final int TAG_BYTES = 16;
  private static final String TRANSFORMATION = "AES/GCM/NoPadding";

  /**
   * Cipher.getInstance costs microseconds (provider lookup): one cipher per thread, initialised per
   * use.
   */
  private static final ThreadLocal<Cipher> CIPHERS =
      ThreadLocal.withInitial(
          () -> {
            try {
              return Cipher.getInstance(TRANSFORMATION);
            } catch (GeneralSecurityException e) {
              throw new IllegalStateException(
                  "AES-GCM is unavailable in this JVM: " + e.getClass().getSimpleName(), e);
            }
          });

  private final OwnedKey key;

  private AesGcm(byte[] owned) {
    this.key = new OwnedKey(owned);
  }

  /** A primitive keyed with a copy of {@code key} (32 bytes). */
  public static AesGcm of(KeyMaterial key) {
    if (key.length() != KEY_BYTES) {
      throw new IllegalArgumentException(
          "an AES-256 key is " + KEY_BYTES + " bytes, got " + key.length());
    }
    return new AesGcm(key.revealBytes());
  }

  /**
   * Encrypts {@code plaintext[offset, offset+length)} under {@code nonce} into {@code out} at
   * {@code outOffset} (ciphertext then tag: {@code length + TAG_BYTES} bytes). Never reuse a nonce
   * with the same key.
   */
  public void seal(
      byte[] nonce,
      byte[] plaintext,
      int offset,
      int length,
      byte[] out,
      int outOffset,
      byte[]... aad) {
    requireNonce(nonce.length);
    Cipher c = init(Cipher.ENCRYPT_MODE, new GCMParameterSpec(TAG_BYTES * 8, nonce), aad);
    try {
      c.doFinal(plaintext, offset, length, out, outOffset);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(
          "AES-GCM encryption failed: " + e.getClass().getSimpleName(), e);
    }
  }

  /** Encrypts {@code plaintext}: ciphertext then tag. */
  public byte[] seal(byte[] nonce, byte[] plaintext, byte[]... aad) {
    byte[] out = new byte[plaintext.length + TAG_BYTES];
    seal(nonce, plaintext, 0, plaintext.length, out, 0, aad);
    return out;
  }

  /**
   * Decrypts ciphertext-and-tag {@code in[offset, offset+length)} whose nonce is {@code
   * in[nonceOffset, nonceOffset+12)}; throws {@link AEADBadTagException} when anything was altered
   * or the AAD differs.
   */
  public byte[] open(
      byte[] nonceSource, int nonceOffset, byte[] in, int offset, int length, byte[]... aad)
      throws AEADBadTagException {
    if (length < TAG_BYTES || nonceOffset < 0 || nonceOffset + NONCE_BYTES > nonceSource.length) {
      throw new AEADBadTagException("too short for an AES-GCM ciphertext and tag");
    }
    Cipher c =
        init(
            Cipher.DECRYPT_MODE,
            new GCMParameterSpec(TAG_BYTES * 8, nonceSource, nonceOffset, NONCE_BYTES),
            aad);
    try {
      return c.doFinal(in, offset, length);
    } catch (AEADBadTagException e) {
      throw e;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(
          "AES-GCM decryption failed: " + e.getClass().getSimpleName(), e);
    }
  }

  /** Zeroises the key; every later use throws {@link IllegalStateException}. Idempotent. */
  public void destroy() {
    key.destroy();
  }

  public boolean isDestroyed() {
    return key.isDestroyed();
  }

  /**
   * Whether every byte of the owned key is zero (reads the bytes, not a flag: what wipe tests
   * check).
   */
  public boolean keyBytesAreZero() {
    int acc = 0;
    for (byte b : key.bytes) {
      acc |= b;
    }
    return acc == 0;
  }

  private Cipher init(int mode, GCMParameterSpec spec, byte[]... aad) {
    if (key.isDestroyed()) {
      throw new IllegalStateException("AES-GCM key was destroyed");
    }
    Cipher c = CIPHERS.get();
    try {
      c.init(mode, key, spec);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM initialisation refused (" + e.getMessage() + ")", e);
    }
    for (byte[] part : aad) {
      c.updateAAD(part);
    }
    return c;
  }

  private static void requireNonce(int length) {
    if (length != NONCE_BYTES) {
      throw new IllegalArgumentException(
          "an AES-GCM nonce is " + NONCE_BYTES + " bytes, got " + length);
    }
  }

  @Override
  public String toString() {
    return "AesGcm[redacted" + (isDestroyed() ? ", destroyed" : "") + "]";
  }

  /** The JCA view of the owned key: gives out copies, wipes the original on destroy. */
  private static final class OwnedKey implements SecretKey {
    private static final long serialVersionUID = 1L;
    private final transient byte[] bytes;
    private transient volatile boolean destroyed;

    OwnedKey(byte[] bytes) {
      this.bytes = bytes;
    }

    @Override
    public String getAlgorithm() {
      return "AES";
    }

    @Override
    public String getFormat() {
      return "RAW";
    }

    @Override
    public byte[] getEncoded() {
      if (destroyed) {
        throw new IllegalStateException("AES-GCM key was destroyed");
      }
      return bytes.clone();
    }

    @Override
    public void destroy() {
      Arrays.fill(bytes, (byte) 0);
      destroyed = true;
    }

    @Override
    public boolean isDestroyed() {
      return destroyed;
    }

    @Override
    public String toString() {
      return "OwnedKey[redacted]";
    }
  }
}
