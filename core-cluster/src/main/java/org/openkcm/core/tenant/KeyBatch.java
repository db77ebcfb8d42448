package org.openkcm.core.tenant;

import java.util.List;
import java.util.Map;
import org.openkcm.core.serialization.CborSerializable;
import org.openkcm.protocol.error.ErrorReason;

/**
 * The items and answers of a tenant's wrap and unwrap batches ({@link TenantEntity.WrapKeys},
 * {@link TenantEntity.UnwrapKeys}). Plaintext keys never appear in {@code toString}.
 */
public final class KeyBatch {

  private KeyBatch() {}

  public record WrapItem(byte[] plaintext, Map<String, String> context)
      implements CborSerializable {
    @Override
    public String toString() {
      return "WrapItem[redacted " + plaintext.length + " bytes, context=" + context.keySet() + "]";
    }
  }

  public record UnwrapItem(byte[] envelope, Map<String, String> context)
      implements CborSerializable {}

  /**
   * @param sequence the tenant's event sequence when it answered (gateways compare it with the
   *     events they saw)
   */
  public record Wrapped(List<byte[]> envelopes, long l3Version, long sequence)
      implements CborSerializable {}

  /**
   * One unwrap outcome: a plaintext, or an error reason and message (then the plaintext is empty).
   */
  public record UnwrapOutcome(byte[] plaintext, String errorReason, String errorMessage)
      implements CborSerializable {
    static UnwrapOutcome ok(byte[] plaintext) {
      return new UnwrapOutcome(plaintext, "", "");
    }

    static UnwrapOutcome failed(ErrorReason reason, String message) {
      return new UnwrapOutcome(new byte[0], reason.name(), message);
    }

    public boolean isOk() {
      return errorReason.isEmpty();
    }

    @Override
    public String toString() {
      return isOk() ? "UnwrapOutcome[ok, redacted]" : "UnwrapOutcome[" + errorReason + "]";
    }
  }

  public record Unwrapped(List<UnwrapOutcome> outcomes, long sequence)
      implements CborSerializable {}

  /**
   * One rewrap outcome: the envelope under the active version ({@code l3Version}), or an error
   * reason and message (then the envelope is empty).
   */
  public record RewrapOutcome(
      byte[] envelope, long l3Version, String errorReason, String errorMessage)
      implements CborSerializable {
    static RewrapOutcome ok(byte[] envelope, long l3Version) {
      return new RewrapOutcome(envelope, l3Version, "", "");
    }

    static RewrapOutcome failed(ErrorReason reason, String message) {
      return new RewrapOutcome(new byte[0], 0, reason.name(), message);
    }

    public boolean isOk() {
      return errorReason.isEmpty();
    }
  }

  public record Rewrapped(List<RewrapOutcome> outcomes, long sequence)
      implements CborSerializable {}
}
