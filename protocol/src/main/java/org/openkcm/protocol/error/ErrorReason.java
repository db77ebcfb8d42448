package org.openkcm.protocol.error;

import io.grpc.Status;
import java.util.Optional;
import org.openkcm.protocol.envelope.EnvelopeException;

/**
 * Every stable, machine-readable reason an OpenKCM API can answer with, and the gRPC status code it
 * maps to. The names are API: clients switch on them (trailer {@code openkcm-reason}), so never
 * rename one.
 */
public enum ErrorReason {
  INVALID_ARGUMENT(Status.Code.INVALID_ARGUMENT),
  TENANT_NOT_FOUND(Status.Code.NOT_FOUND),
  TENANT_ALREADY_EXISTS(Status.Code.ALREADY_EXISTS),
  SERVICE_NOT_FOUND(Status.Code.NOT_FOUND),
  SERVICE_ALREADY_EXISTS(Status.Code.ALREADY_EXISTS),
  L3_VERSION_UNKNOWN(Status.Code.NOT_FOUND),
  /** The envelope's L3 version was retired (destroyed): it opens no more, anywhere. */
  KEY_VERSION_RETIRED(Status.Code.FAILED_PRECONDITION),
  /**
   * The active L3 version has spent its nonce budget and could not rotate: no wrap is made past it.
   */
  NONCE_BUDGET_EXHAUSTED(Status.Code.RESOURCE_EXHAUSTED),
  /** No key with this id in the vault. */
  KEY_NOT_FOUND(Status.Code.NOT_FOUND),
  /** The key was destroyed (crypto-shredded); it can never be read again. */
  KEY_DESTROYED(Status.Code.FAILED_PRECONDITION),
  /** The service is pinned to another region (geo-fencing): its key never leaves that region. */
  SERVICE_PINNED(Status.Code.FAILED_PRECONDITION),
  /**
   * Strict mode: this region has not heard from the tenant's home region for longer than allowed,
   * so it stops serving the tenant until it has.
   */
  HOME_REGION_SILENT(Status.Code.UNAVAILABLE),
  /** Another region owns this tenant's lifecycle writes: send the request to its home region. */
  NOT_HOME_REGION(Status.Code.FAILED_PRECONDITION),
  /** The tenant was offboarded: every key of it is destroyed; nothing of it opens again. */
  TENANT_OFFBOARDED(Status.Code.FAILED_PRECONDITION),
  /** The kill-switch was pulled for this tenant (or its region, or everything). */
  TENANT_KILLED(Status.Code.FAILED_PRECONDITION),
  ENVELOPE_TRUNCATED(Status.Code.INVALID_ARGUMENT),
  ENVELOPE_BAD_MAGIC(Status.Code.INVALID_ARGUMENT),
  ENVELOPE_UNSUPPORTED_VERSION(Status.Code.INVALID_ARGUMENT),
  ENVELOPE_MALFORMED(Status.Code.INVALID_ARGUMENT),
  ENVELOPE_TENANT_MISMATCH(Status.Code.PERMISSION_DENIED),
  ENVELOPE_SERVICE_MISMATCH(Status.Code.PERMISSION_DENIED),
  ENVELOPE_AUTHENTICATION_FAILED(Status.Code.INVALID_ARGUMENT),
  INVALID_CONTEXT(Status.Code.INVALID_ARGUMENT),
  /** The L1 reference cannot be used: unknown scheme, key not found, wrong key type. */
  L1_REJECTED(Status.Code.FAILED_PRECONDITION),
  /** The customer's keystore refused the key: disabled, deleted, access denied. */
  L1_REVOKED(Status.Code.FAILED_PRECONDITION),
  /** The customer's keystore could not be reached or failed; retrying may help. */
  L1_UNAVAILABLE(Status.Code.UNAVAILABLE),
  /**
   * This Core node is sealed: it has no master key yet (unseal it with shares, or check
   * auto-unseal).
   */
  CORE_SEALED(Status.Code.UNAVAILABLE),
  /** The seal was already initialised (shares are printed only once). */
  SEAL_ALREADY_INITIALISED(Status.Code.FAILED_PRECONDITION),
  /** The shares entered do not reconstruct the master key. */
  UNSEAL_FAILED(Status.Code.INVALID_ARGUMENT),
  /** The gateway could not reach any Core node. */
  CORE_UNAVAILABLE(Status.Code.UNAVAILABLE),
  /** The request took longer than the configured timeout. */
  TIMEOUT(Status.Code.DEADLINE_EXCEEDED),
  /**
   * The node's audit records wait to be written (its trail's database is slow or away) past the
   * queue's capacity: new requests are refused until they drain (every admitted one keeps its
   * record). Retry later, or at another node.
   */
  AUDIT_BACKLOG_FULL(Status.Code.UNAVAILABLE),
  /**
   * The caller's identity may not do this (authorization policy); the audit log has the decision.
   */
  PERMISSION_DENIED(Status.Code.PERMISSION_DENIED),
  INTERNAL(Status.Code.INTERNAL);

  private final Status.Code code;

  ErrorReason(Status.Code code) {
    this.code = code;
  }

  public Status.Code grpcCode() {
    return code;
  }

  public static ErrorReason of(EnvelopeException.Reason reason) {
    return valueOf(reason.name());
  }

  public static Optional<ErrorReason> parse(String name) {
    try {
      return Optional.of(valueOf(name));
    } catch (IllegalArgumentException | NullPointerException e) {
      return Optional.empty();
    }
  }
}
