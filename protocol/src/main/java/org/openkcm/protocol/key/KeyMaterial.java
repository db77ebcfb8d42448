package org.openkcm.protocol.key;

import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;

/**
 * Secret key bytes (an L2, L3 or L4 key) held in memory.
 *
 * <p>The bytes never leave this object by accident: there is no {@code equals}, {@code hashCode} or
 * informative {@code toString}, comparison is constant-time, and the only way to read the bytes is
 * the deliberately grep-able {@link #revealBytes()}. {@link #wipe()} overwrites them with zeros; a
 * wiped key refuses every further use.
 */
public final class KeyMaterial {

  private final byte[] bytes;
  private volatile boolean wiped;

  private KeyMaterial(byte[] bytes) {
    this.bytes = bytes;
  }

  /** Copies {@code bytes}; the caller remains responsible for wiping its own array. */
  public static KeyMaterial copyOf(byte[] bytes) {
    if (bytes == null || bytes.length == 0) {
      throw new IllegalArgumentException("key material must not be empty");
    }
    return new KeyMaterial(bytes.clone());
  }

  /** Takes ownership of {@code bytes} without copying (the array must not be used elsewhere). */
  public static KeyMaterial adopt(byte[] bytes) {
    if (bytes == null || bytes.length == 0) {
      throw new IllegalArgumentException("key material must not be empty");
    }
    return new KeyMaterial(bytes);
  }

  /** A fresh random key of {@code length} bytes. */
  public static KeyMaterial random(int length, SecureRandom random) {
    if (length <= 0) {
      throw new IllegalArgumentException("key length must be positive, was " + length);
    }
    byte[] b = new byte[length];
    random.nextBytes(b);
    return new KeyMaterial(b);
  }

  public int length() {
    return bytes.length;
  }

  public boolean isWiped() {
    return wiped;
  }

  /**
   * A copy of the raw key bytes. Every call site is a place where key material leaves its type:
   * keep them few, and wipe the returned array when done.
   */
  public byte[] revealBytes() {
    ensureNotWiped();
    return bytes.clone();
  }

  /** Constant-time comparison of the key bytes. */
  public boolean sameKeyAs(KeyMaterial other) {
    ensureNotWiped();
    other.ensureNotWiped();
    return MessageDigest.isEqual(bytes, other.bytes);
  }

  /**
   * Whether every key byte is zero (reads the bytes themselves, not a flag: what wipe tests check).
   */
  public boolean bytesAreZero() {
    int acc = 0;
    for (byte b : bytes) {
      acc |= b;
    }
    return acc == 0;
  }

  /** Overwrites the bytes with zeros. Idempotent. */
  public void wipe() {
    Arrays.fill(bytes, (byte) 0);
    wiped = true;
  }

  private void ensureNotWiped() {
    if (wiped) {
      throw new IllegalStateException("key material was wiped");
    }
  }

  @Override
  public String toString() {
    return "KeyMaterial[redacted, " + bytes.length + " bytes" + (wiped ? ", wiped" : "") + "]";
  }
}
