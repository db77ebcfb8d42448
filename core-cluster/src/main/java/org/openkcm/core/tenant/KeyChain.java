package org.openkcm.core.tenant;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.openkcm.core.crypto.KeyWrap;
import org.openkcm.core.seal.MasterKey;
import org.openkcm.protocol.envelope.EnvelopeCipher;
import org.openkcm.protocol.envelope.EnvelopeHeader;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * One tenant's key chain as pure code, no actor: what is bound into each wrap (L1 encryption
 * context, L3 AAD, master-key purposes), sealing and opening the persisted blobs, and opening the
 * whole chain from an L2. Known-answer vectors in {@code KeyChainTest} pin the formats the journal
 * holds.
 */
public final class KeyChain {

  private final String tenantId;
  private final MasterKey master;
  private final SecureRandom random;

  KeyChain(String tenantId, MasterKey master, SecureRandom random) {
    this.tenantId = tenantId;
    this.master = master;
    this.random = random;
  }

  /**
   * The encryption context of every L1 call for this tenant's L2 (what the customer's KMS logs
   * show).
   */
  Map<String, String> l1Context(long l2Version, String correlationId) {
    return Map.of(
        "openkcm:tenant",
        tenantId,
        "openkcm:l2-version",
        Long.toString(l2Version),
        "openkcm:correlation-id",
        correlationId);
  }

  /** The master-key purpose (AAD) of the L1-wrapped L2. */
  static String l2Purpose(String tenantId) {
    return "l2:" + tenantId;
  }

  /** The master-key purpose (AAD) of an L2-wrapped L3. */
  static String l3Purpose(String tenantId, String serviceId, long l3Version) {
    return "l3:" + tenantId + ":" + serviceId + ":" + l3Version;
  }

  /** AAD binding a wrapped L3 to its tenant, service, version and wrapping L2 version. */
  public static byte[] l3Aad(String tenantId, String serviceId, long l3Version, long l2Version) {
    return ("openkcm-l3-v1\n" + tenantId + "\n" + serviceId + "\n" + l3Version + "\n" + l2Version)
        .getBytes(StandardCharsets.UTF_8);
  }

  /** Seals the L1-wrapped L2 for the journal. */
  byte[] sealL2(byte[] l1Wrapped) {
    return master.seal(l1Wrapped, l2Purpose(tenantId));
  }

  /** The L1-wrapped L2 inside a persisted blob (for the L1 call that unwraps it). */
  byte[] openL2(byte[] sealed) {
    return master.open(sealed, l2Purpose(tenantId));
  }

  /** {@code l3} wrapped by {@code l2} and sealed: the persisted blob of a new L3 version. */
  byte[] sealL3(KeyMaterial l2, long l2Version, String serviceId, long l3Version, KeyMaterial l3) {
    return master.seal(
        KeyWrap.wrap(l2, l3, l3Aad(tenantId, serviceId, l3Version, l2Version), random),
        l3Purpose(tenantId, serviceId, l3Version));
  }

  /**
   * Every L3 version of every service opened with {@code oldL2} and wrapped again under {@code
   * newL2} (version {@code newL2Version}): the blobs of an L2 rotation. Nothing is kept in memory.
   */
  Map<String, List<TenantState.WrappedL3>> rewrapL3s(
      KeyMaterial oldL2,
      KeyMaterial newL2,
      long newL2Version,
      Map<String, TenantState.ServiceKeys> services) {
    Map<String, List<TenantState.WrappedL3>> out = new TreeMap<>();
    for (TenantState.ServiceKeys service : services.values()) {
      List<TenantState.WrappedL3> next = new ArrayList<>();
      for (TenantState.WrappedL3 w : service.versions()) {
        KeyMaterial l3 = openL3(oldL2, service.serviceId(), w);
        try {
          next.add(
              new TenantState.WrappedL3(
                  w.version(),
                  newL2Version,
                  sealL3(newL2, newL2Version, service.serviceId(), w.version(), l3)));
        } finally {
          l3.wipe();
        }
      }
      out.put(service.serviceId(), List.copyOf(next));
    }
    return out;
  }

  private KeyMaterial openL3(KeyMaterial l2, String serviceId, TenantState.WrappedL3 w) {
    try {
      byte[] blob = master.open(w.blob(), l3Purpose(tenantId, serviceId, w.version()));
      return KeyWrap.unwrap(l2, blob, l3Aad(tenantId, serviceId, w.version(), w.l2Version()));
    } catch (GeneralSecurityException ex) {
      throw new OpenKcmException(
          ErrorReason.INTERNAL,
          "tenant "
              + tenantId
              + ": L3 v"
              + w.version()
              + " of service "
              + serviceId
              + " does not open with L2; the journal may be damaged");
    }
  }

  /** Seals a blob written before master-key sealing (migrate-seal): the L2's or an L3's. */
  byte[] sealLegacyL2(byte[] raw) {
    return sealL2(raw);
  }

  byte[] sealLegacyL3(String serviceId, long l3Version, byte[] raw) {
    return master.seal(raw, l3Purpose(tenantId, serviceId, l3Version));
  }

  /**
   * Opens every L3 version of every service with {@code l2}: the tenant's in-memory chain. Wipes
   * all on failure.
   */
  UnsealedKeys open(KeyMaterial l2, long l2Version, Map<String, TenantState.ServiceKeys> services) {
    UnsealedKeys keys = new UnsealedKeys(l2, l2Version);
    for (TenantState.ServiceKeys service : services.values()) {
      for (TenantState.WrappedL3 w : service.versions()) {
        try {
          byte[] blob =
              master.open(w.blob(), l3Purpose(tenantId, service.serviceId(), w.version()));
          KeyMaterial l3 =
              KeyWrap.unwrap(
                  l2, blob, l3Aad(tenantId, service.serviceId(), w.version(), w.l2Version()));
          keys.install(
              new EnvelopeCipher(
                  new EnvelopeHeader(tenantId, service.serviceId(), w.version()), l3));
          l3.wipe();
          // never reuse budget: after a start, counting resumes past everything reserved
          keys.countWraps(
              service.serviceId(), w.version(), service.info(w.version()).wrapsReserved());
        } catch (OpenKcmException ex) {
          keys.wipe();
          throw ex;
        } catch (GeneralSecurityException ex) {
          keys.wipe();
          throw new OpenKcmException(
              ErrorReason.INTERNAL,
              "tenant "
                  + tenantId
                  + ": L3 v"
                  + w.version()
                  + " of service "
                  + service.serviceId()
                  + " does not open with L2; the journal may be damaged");
        }
      }
    }
    return keys;
  }
}
