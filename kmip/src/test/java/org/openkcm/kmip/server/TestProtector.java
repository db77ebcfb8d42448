package org.openkcm.kmip.server;

import java.util.HashSet;
import java.util.Set;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.openkcm.kmip.message.KmipException;
import org.openkcm.kmip.message.ResultReason;

/**
 * A protector for engine tests: AES-GCM under one fixed test key (the gateway's real one wraps
 * through the tenant's L3; KmipIT covers it). Owners can be refused, as a killed tenant is.
 */
final class TestProtector implements KeyProtector {

  private final SecretKeySpec key = new SecretKeySpec(new byte[32], "AES");
  final Set<String> refusedTenants = new HashSet<>();

  @Override
  public void requireServing(Owner owner) {
    if (refusedTenants.contains(owner.tenant())) {
      throw new KmipException(ResultReason.PERMISSION_DENIED, "[TENANT_KILLED] " + owner.tenant());
    }
  }

  @Override
  public byte[] protect(Owner owner, String uid, byte[] material) {
    return run(Cipher.ENCRYPT_MODE, uid, material);
  }

  @Override
  public byte[] open(Owner owner, String uid, byte[] sealed) {
    return run(Cipher.DECRYPT_MODE, uid, sealed);
  }

  private byte[] run(int mode, String uid, byte[] in) {
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      byte[] nonce = java.util.Arrays.copyOf(uid.getBytes(), 12);
      c.init(mode, key, new GCMParameterSpec(128, nonce));
      return c.doFinal(in);
    } catch (java.security.GeneralSecurityException e) {
      throw new KmipException(ResultReason.CRYPTOGRAPHIC_FAILURE, "test protector: " + e);
    }
  }
}
