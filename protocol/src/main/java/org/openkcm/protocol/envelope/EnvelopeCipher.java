package org.openkcm.protocol.envelope;

import static org.openkcm.protocol.envelope.EnvelopeException.Reason.ENVELOPE_AUTHENTICATION_FAILED;
import static org.openkcm.protocol.envelope.EnvelopeException.Reason.ENVELOPE_MALFORMED;

import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * Wraps and unwraps L4 data keys under one L3 service key (AES-256-GCM, random 96-bit nonce,
 * AAD = header bytes followed by the canonical encryption context).
 *
 * <p>Immutable and thread-safe; holds the JCA key for the L3 it was made for. {@link #destroy()} wipes
 * the copy of the L3 bytes it owns.
 */
public final class EnvelopeCipher {

  private static final String TRANSFORMATION = "AES/GCM/NoPadding";
  /** Cipher.getInstance costs several microseconds (provider lookup); one instance per thread is re-initialised. */
  private static final ThreadLocal<Cipher> CIPHERS = ThreadLocal.withInitial(() -> {
    try {
      return Cipher.getInstance(TRANSFORMATION);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM is unavailable in this JVM: " + e.getClass().getSimpleName(), e);
    }
  });

  private final EnvelopeHeader header;
  private final byte[] keyBytes;
  private final SecretKeySpec key;

  /** A cipher for envelopes of {@code header}'s tenant, service and L3 version, keyed by {@code l3}. */
  public EnvelopeCipher(EnvelopeHeader header, KeyMaterial l3) {
    if (l3.length() != 32) {
      throw new IllegalArgumentException("an L3 key is 32 bytes (AES-256), got " + l3.length());
    }
    this.header = header;
    this.keyBytes = l3.revealBytes();
    this.key = new SecretKeySpec(keyBytes, "AES");
  }

  public EnvelopeHeader header() {
    return header;
  }

  /** Wraps {@code dek} with a fresh random nonce; answers the envelope's bytes. */
  public byte[] wrap(KeyMaterial dek, EncryptionContext context, SecureRandom random) throws EnvelopeException {
    byte[] nonce = new byte[EnvelopeCodec.NONCE_LENGTH];
    random.nextBytes(nonce);
    return wrapWithNonce(dek, context, nonce);
  }

  /** Wraps with a caller-chosen nonce: for known-answer vectors only; never reuse a nonce. */
  byte[] wrapWithNonce(KeyMaterial dek, EncryptionContext context, byte[] nonce) throws EnvelopeException {
    if (dek.length() > EnvelopeCodec.MAX_KEY_LENGTH) {
      throw new EnvelopeException(ENVELOPE_MALFORMED,
          "a data key is at most " + EnvelopeCodec.MAX_KEY_LENGTH + " bytes, got " + dek.length());
    }
    byte[] headerBytes = EnvelopeCodec.encodeHeader(header, dek.length());
    byte[] plain = dek.revealBytes();
    try {
      Cipher c = CIPHERS.get();
      c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(EnvelopeCodec.TAG_LENGTH * 8, nonce));
      c.updateAAD(headerBytes);
      c.updateAAD(context.canonicalBytes());
      int ctLen = plain.length + EnvelopeCodec.TAG_LENGTH;
      byte[] out = Arrays.copyOf(headerBytes, headerBytes.length + nonce.length + ctLen);
      System.arraycopy(nonce, 0, out, headerBytes.length, nonce.length);
      c.doFinal(plain, 0, plain.length, out, headerBytes.length + nonce.length);
      return out;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM is unavailable in this JVM: " + e.getClass().getSimpleName(), e);
    } finally {
      Arrays.fill(plain, (byte) 0);
    }
  }

  /**
   * Unwraps {@code envelope}, which must have been parsed from bytes of this cipher's tenant, service and
   * L3 version (the caller routes by header). A wrong context or any altered byte fails authentication.
   */
  public KeyMaterial unwrap(Envelope envelope, EncryptionContext context) throws EnvelopeException {
    if (!envelope.header().equals(header)) {
      throw new IllegalArgumentException("envelope " + envelope + " routed to the cipher of " + header);
    }
    try {
      Cipher c = CIPHERS.get();
      c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(EnvelopeCodec.TAG_LENGTH * 8, envelope.nonce()));
      c.updateAAD(envelope.headerBytes());
      c.updateAAD(context.canonicalBytes());
      return KeyMaterial.adopt(c.doFinal(envelope.ciphertextAndTag()));
    } catch (AEADBadTagException e) {
      throw new EnvelopeException(ENVELOPE_AUTHENTICATION_FAILED,
          "envelope does not authenticate: it was altered, or the encryption context differs from the one "
              + "used when the data key was generated");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM is unavailable in this JVM: " + e.getClass().getSimpleName(), e);
    }
  }

  /** Wipes this cipher's copy of the L3 bytes (the JCA key object may keep its own until collected). */
  public void destroy() {
    Arrays.fill(keyBytes, (byte) 0);
  }

  @Override
  public String toString() {
    return "EnvelopeCipher[" + header.tenantId() + "/" + header.serviceId() + " L3v" + header.l3Version() + "]";
  }
}
