package org.openkcm.protocol.envelope;

import static org.openkcm.protocol.envelope.EnvelopeException.Reason.ENVELOPE_AUTHENTICATION_FAILED;
import static org.openkcm.protocol.envelope.EnvelopeException.Reason.ENVELOPE_MALFORMED;

import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import org.openkcm.protocol.crypto.AesGcm;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * Wraps and unwraps L4 data keys under one L3 service key (AES-256-GCM through {@link AesGcm},
 * random 96-bit nonce, AAD = header bytes followed by the canonical encryption context).
 *
 * <p>Thread-safe; owns the only copy of the L3 it was made for. {@link #destroy()} zeroises it,
 * after which every wrap and unwrap throws.
 */
public final class EnvelopeCipher {

  private final EnvelopeHeader header;
  private final AesGcm aes;

  /** The encoded header for a 16-, 24- and 32-byte key (index 0, 1, 2): made once, only read. */
  private final byte[][] aesKeyHeaders;

  /**
   * A cipher for envelopes of {@code header}'s tenant, service and L3 version, keyed by a copy of
   * {@code l3}.
   */
  public EnvelopeCipher(EnvelopeHeader header, KeyMaterial l3) {
    if (l3.length() != AesGcm.KEY_BYTES) {
      throw new IllegalArgumentException("an L3 key is 32 bytes (AES-256), got " + l3.length());
    }
    this.header = header;
    this.aes = AesGcm.of(l3);
    this.aesKeyHeaders =
        new byte[][] {
          EnvelopeCodec.encodeHeader(header, 16),
          EnvelopeCodec.encodeHeader(header, 24),
          EnvelopeCodec.encodeHeader(header, 32)
        };
  }

  /** The encoded header of an envelope of a {@code keyLength}-byte key (not to be written to). */
  private byte[] headerBytes(int keyLength) {
    return switch (keyLength) {
      case 16 -> aesKeyHeaders[0];
      case 24 -> aesKeyHeaders[1];
      case 32 -> aesKeyHeaders[2];
      default -> EnvelopeCodec.encodeHeader(header, keyLength);
    };
  }

  public EnvelopeHeader header() {
    return header;
  }

  /** Wraps {@code dek} with a fresh random nonce; answers the envelope's bytes. */
  public byte[] wrap(KeyMaterial dek, EncryptionContext context, SecureRandom random)
      throws EnvelopeException {
    byte[] nonce = new byte[EnvelopeCodec.NONCE_LENGTH];
    random.nextBytes(nonce);
    return wrapWithNonce(dek, context, nonce);
  }

  /** Wraps {@code dek} with the next nonce of {@code nonces} (a batch drawn at once). */
  public byte[] wrap(KeyMaterial dek, EncryptionContext context, NonceBatch nonces)
      throws EnvelopeException {
    return wrapWithNonce(dek, context, nonces.take());
  }

  /** Wraps with a caller-chosen nonce: for known-answer vectors only; never reuse a nonce. */
  byte[] wrapWithNonce(KeyMaterial dek, EncryptionContext context, byte[] nonce)
      throws EnvelopeException {
    if (dek.length() > EnvelopeCodec.MAX_KEY_LENGTH) {
      throw new EnvelopeException(
          ENVELOPE_MALFORMED,
          "a data key is at most " + EnvelopeCodec.MAX_KEY_LENGTH + " bytes, got " + dek.length());
    }
    byte[] headerBytes = headerBytes(dek.length());
    byte[] plain = dek.revealBytes();
    try {
      int ctLen = plain.length + EnvelopeCodec.TAG_LENGTH;
      byte[] out = Arrays.copyOf(headerBytes, headerBytes.length + nonce.length + ctLen);
      System.arraycopy(nonce, 0, out, headerBytes.length, nonce.length);
      aes.seal(
          nonce,
          plain,
          0,
          plain.length,
          out,
          headerBytes.length + nonce.length,
          headerBytes,
          context.canonicalBytes());
      return out;
    } finally {
      Arrays.fill(plain, (byte) 0);
    }
  }

  /**
   * Unwraps {@code envelope}, which must have been parsed from bytes of this cipher's tenant,
   * service and L3 version (the caller routes by header). A wrong context or any altered byte fails
   * authentication.
   */
  public KeyMaterial unwrap(Envelope envelope, EncryptionContext context) throws EnvelopeException {
    if (!envelope.header().equals(header)) {
      throw new IllegalArgumentException(
          "envelope " + envelope + " routed to the cipher of " + header);
    }
    byte[] nonce = envelope.nonce();
    byte[] sealed = envelope.ciphertextAndTag();
    try {
      return KeyMaterial.adopt(
          aes.open(
              nonce,
              0,
              sealed,
              0,
              sealed.length,
              envelope.headerBytes(),
              context.canonicalBytes()));
    } catch (AEADBadTagException e) {
      throw new EnvelopeException(
          ENVELOPE_AUTHENTICATION_FAILED,
          "envelope does not authenticate: it was altered, or the encryption context differs from the one "
              + "used when the data key was generated");
    }
  }

  /** Zeroises this cipher's L3; every later wrap or unwrap throws {@link IllegalStateException}. */
  public void destroy() {
    aes.destroy();
  }

  public boolean isDestroyed() {
    return aes.isDestroyed();
  }

  /** Whether the L3 bytes this cipher owns are all zero (after {@link #destroy()}). */
  public boolean keyBytesAreZero() {
    return aes.keyBytesAreZero();
  }

  @Override
  public String toString() {
    return "EnvelopeCipher["
        + header.tenantId()
        + "/"
        + header.serviceId()
        + " L3v"
        + header.l3Version()
        + "]";
  }
}
