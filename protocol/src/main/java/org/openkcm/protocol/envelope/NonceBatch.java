package org.openkcm.protocol.envelope;

import java.security.SecureRandom;
import java.util.Arrays;

/**
 * The random nonces of one batch of wraps, drawn from a {@link SecureRandom} in one call instead of
 * one (synchronized) call per key. Each nonce is handed out once; asking for more than were drawn
 * throws. Not thread-safe: one per batch.
 */
public final class NonceBatch {

  private final byte[] nonces;
  private int next;

  /** Draws {@code count} nonces from {@code random}. */
  public NonceBatch(SecureRandom random, int count) {
    this.nonces = new byte[count * EnvelopeCodec.NONCE_LENGTH];
    random.nextBytes(nonces);
  }

  /** The next unused nonce. */
  byte[] take() {
    if (next + EnvelopeCodec.NONCE_LENGTH > nonces.length) {
      throw new IllegalStateException("nonce batch exhausted: every nonce is used once");
    }
    byte[] nonce = Arrays.copyOfRange(nonces, next, next + EnvelopeCodec.NONCE_LENGTH);
    next += EnvelopeCodec.NONCE_LENGTH;
    return nonce;
  }
}
