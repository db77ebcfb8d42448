package org.openkcm.protocol.envelope;

import java.util.Arrays;

/**
 * A parsed wrapped-key envelope: its header, the 96-bit GCM nonce and the ciphertext with its
 * 128-bit tag. Contains no secret: the DEK inside is encrypted. Produced by {@link
 * EnvelopeCodec#decode}.
 */
public final class Envelope {

  private final EnvelopeHeader header;
  private final byte[] nonce;
  private final byte[] ciphertextAndTag;
  private final byte[] headerBytes;

  Envelope(EnvelopeHeader header, byte[] headerBytes, byte[] nonce, byte[] ciphertextAndTag) {
    this.header = header;
    this.headerBytes = headerBytes;
    this.nonce = nonce;
    this.ciphertextAndTag = ciphertextAndTag;
  }

  public EnvelopeHeader header() {
    return header;
  }

  public String tenantId() {
    return header.tenantId();
  }

  public String serviceId() {
    return header.serviceId();
  }

  public long l3Version() {
    return header.l3Version();
  }

  byte[] nonce() {
    return nonce;
  }

  byte[] ciphertextAndTag() {
    return ciphertextAndTag;
  }

  byte[] headerBytes() {
    return headerBytes;
  }

  /** Length in bytes of the wrapped DEK. */
  public int keyLength() {
    return ciphertextAndTag.length - EnvelopeCodec.TAG_LENGTH;
  }

  /** The full binary form. */
  public byte[] toBytes() {
    byte[] out =
        Arrays.copyOf(headerBytes, headerBytes.length + nonce.length + ciphertextAndTag.length);
    System.arraycopy(nonce, 0, out, headerBytes.length, nonce.length);
    System.arraycopy(
        ciphertextAndTag, 0, out, headerBytes.length + nonce.length, ciphertextAndTag.length);
    return out;
  }

  @Override
  public String toString() {
    return "Envelope["
        + header.tenantId()
        + "/"
        + header.serviceId()
        + " L3v"
        + header.l3Version()
        + "]";
  }
}
