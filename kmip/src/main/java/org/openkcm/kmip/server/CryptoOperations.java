package org.openkcm.kmip.server;

import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.openkcm.kmip.message.BlockCipherMode;
import org.openkcm.kmip.message.CryptographicAlgorithm;
import org.openkcm.kmip.message.Items;
import org.openkcm.kmip.message.KmipException;
import org.openkcm.kmip.message.ObjectState;
import org.openkcm.kmip.message.ObjectType;
import org.openkcm.kmip.message.ResultReason;
import org.openkcm.kmip.ttlv.Item;
import org.openkcm.kmip.ttlv.Tag;

/**
 * Encrypt and Decrypt with an AES object's own key, in GCM (the default from KMIP 1.4, which has
 * the tag fields) or CBC (the default before). GCM: the IV/nonce is the client's or 12 random bytes
 * returned with the answer; the tag (Tag Length bytes, 16 by default) travels in Authenticated
 * Encryption Tag and additional data in Authenticated Encryption Additional Data. CBC: a 16-byte IV
 * (the client's or random), PKCS#5 padding unless None is asked. Encrypt needs an Active object;
 * Decrypt also works with Deactivated and Compromised ones (data made earlier must stay readable).
 */
final class CryptoOperations {

  private static final int ENCRYPT_MASK = 0x4;
  private static final int DECRYPT_MASK = 0x8;
  private static final int DEFAULT_IV_BYTES = 12;

  private final ObjectStore store;
  private final KeyProtector protector;
  private final SecureRandom random;

  CryptoOperations(ObjectStore store, KeyProtector protector, SecureRandom random) {
    this.store = store;
    this.protector = protector;
    this.random = random;
  }

  Item.Struct encrypt(Call call, Item.Struct p) {
    String uid = call.uid(p);
    ManagedObject o = usable(call, uid, true);
    Params params = params(call, o, p);
    byte[] data = Items.optBytes(p, Tag.DATA).orElseThrow(() -> Items.missing(Tag.DATA));
    Optional<byte[]> givenIv = Items.optBytes(p, Tag.IV_COUNTER_NONCE);
    byte[] iv = givenIv.orElseGet(() -> randomIv(params));
    checkIv(params, iv);
    byte[] sealed = run(call, o, Cipher.ENCRYPT_MODE, params, iv, p, data);
    int split = params.gcm() ? sealed.length - params.tagBytes : sealed.length;
    List<Item> out = new ArrayList<>();
    out.add(new Item.Text(Tag.UNIQUE_IDENTIFIER, uid));
    out.add(new Item.Bytes(Tag.DATA, Arrays.copyOf(sealed, split)));
    if (givenIv.isEmpty()) {
      out.add(new Item.Bytes(Tag.IV_COUNTER_NONCE, iv));
    }
    if (params.gcm()) {
      out.add(
          new Item.Bytes(
              Tag.AUTHENTICATED_ENCRYPTION_TAG, Arrays.copyOfRange(sealed, split, sealed.length)));
    }
    return new Item.Struct(Tag.RESPONSE_PAYLOAD, out);
  }

  Item.Struct decrypt(Call call, Item.Struct p) {
    String uid = call.uid(p);
    ManagedObject o = usable(call, uid, false);
    Params params = params(call, o, p);
    byte[] data = Items.optBytes(p, Tag.DATA).orElseThrow(() -> Items.missing(Tag.DATA));
    byte[] iv =
        Items.optBytes(p, Tag.IV_COUNTER_NONCE)
            .orElseThrow(
                () ->
                    new KmipException(
                        call.version.isTwo()
                            ? ResultReason.MISSING_INITIALIZATION_VECTOR
                            : ResultReason.INVALID_MESSAGE,
                        "Decrypt needs the IV/Counter/Nonce the data was encrypted with"));
    checkIv(params, iv);
    byte[] input = data;
    if (params.gcm()) {
      byte[] tag =
          Items.optBytes(p, Tag.AUTHENTICATED_ENCRYPTION_TAG)
              .orElseThrow(
                  () ->
                      new KmipException(
                          ResultReason.INVALID_MESSAGE,
                          "Decrypt in GCM needs the Authenticated Encryption Tag"));
      if (tag.length != params.tagBytes) {
        throw new KmipException(
            ResultReason.INVALID_FIELD,
            "the tag is " + tag.length + " bytes, Tag Length says " + params.tagBytes);
      }
      input = Arrays.copyOf(data, data.length + tag.length);
      System.arraycopy(tag, 0, input, data.length, tag.length);
    }
    byte[] plain = run(call, o, Cipher.DECRYPT_MODE, params, iv, p, input);
    return new Item.Struct(
        Tag.RESPONSE_PAYLOAD,
        List.of(new Item.Text(Tag.UNIQUE_IDENTIFIER, uid), new Item.Bytes(Tag.DATA, plain)));
  }

  /** GCM with a tag length, or CBC with PKCS#5 padding or none. */
  private record Params(int mode, boolean padded, int tagBytes) {
    boolean gcm() {
      return mode == BlockCipherMode.GCM.code;
    }

    String transformation() {
      return gcm() ? "AES/GCM/NoPadding" : padded ? "AES/CBC/PKCS5Padding" : "AES/CBC/NoPadding";
    }
  }

  private static final int PADDING_NONE = 1;
  private static final int PADDING_PKCS5 = 3;

  private ManagedObject usable(Call call, String uid, boolean encrypting) {
    ManagedObject o = ObjectOperations.live(store, call, uid);
    if (o.type() != ObjectType.SYMMETRIC_KEY
        || ObjectOperations.enumValue(o.attributes(), "Cryptographic Algorithm")
            .filter(a -> a == CryptographicAlgorithm.AES.code)
            .isEmpty()) {
      throw new KmipException(
          call.version.isTwo() ? ResultReason.ILLEGAL_OBJECT_TYPE : ResultReason.ILLEGAL_OPERATION,
          "object " + uid + " is not an AES key");
    }
    boolean stateOk =
        encrypting
            ? o.state() == ObjectState.ACTIVE
            : o.state() == ObjectState.ACTIVE
                || o.state() == ObjectState.DEACTIVATED
                || o.state() == ObjectState.COMPROMISED;
    if (!stateOk) {
      throw new KmipException(
          call.wrongState(),
          "object "
              + uid
              + " is "
              + o.state()
              + (encrypting ? "; only an Active key encrypts" : "; it cannot decrypt yet"));
    }
    Optional<Integer> mask = ObjectOperations.intValue(o.attributes(), "Cryptographic Usage Mask");
    int needed = encrypting ? ENCRYPT_MASK : DECRYPT_MASK;
    if (mask.isPresent() && (mask.get() & needed) == 0) {
      throw new KmipException(
          call.version.isTwo()
              ? ResultReason.INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK
              : ResultReason.PERMISSION_DENIED,
          "object " + uid + "'s usage mask does not allow " + (encrypting ? "Encrypt" : "Decrypt"));
    }
    return o;
  }

  private static Params params(Call call, ManagedObject o, Item.Struct p) {
    Optional<Item.Struct> given = Items.optStruct(p, Tag.CRYPTOGRAPHIC_PARAMETERS);
    int mode =
        given
            .flatMap(g -> Items.optEnum(g, Tag.BLOCK_CIPHER_MODE))
            .orElse(aeadFields(call) ? BlockCipherMode.GCM.code : BlockCipherMode.CBC.code);
    if (mode == BlockCipherMode.GCM.code && !aeadFields(call)) {
      throw new KmipException(
          ResultReason.FEATURE_NOT_SUPPORTED,
          "GCM needs KMIP 1.4 or later (the Authenticated Encryption Tag field); this request is "
              + call.version);
    }
    if (mode != BlockCipherMode.GCM.code && mode != BlockCipherMode.CBC.code) {
      throw new KmipException(
          call.version.isTwo()
              ? ResultReason.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS
              : ResultReason.FEATURE_NOT_SUPPORTED,
          "this server encrypts in GCM (Block Cipher Mode 9) or CBC (1), not mode " + mode);
    }
    given
        .flatMap(g -> Items.optEnum(g, Tag.CRYPTOGRAPHIC_ALGORITHM))
        .filter(a -> a != CryptographicAlgorithm.AES.code)
        .ifPresent(
            a -> {
              throw new KmipException(
                  ResultReason.INVALID_FIELD, "the key is AES, the parameters say algorithm " + a);
            });
    int padding =
        given
            .flatMap(g -> Items.optEnum(g, Tag.PADDING_METHOD))
            .orElse(mode == BlockCipherMode.CBC.code ? PADDING_PKCS5 : PADDING_NONE);
    if (padding != PADDING_NONE && (padding != PADDING_PKCS5 || mode != BlockCipherMode.CBC.code)) {
      throw new KmipException(
          call.version.isTwo()
              ? ResultReason.UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS
              : ResultReason.FEATURE_NOT_SUPPORTED,
          "padding method " + padding + " is not supported (CBC takes PKCS5 or None, GCM None)");
    }
    int tag = given.flatMap(g -> Items.optInteger(g, Tag.TAG_LENGTH)).orElse(16);
    if (tag < 12 || tag > 16) {
      throw new KmipException(
          ResultReason.INVALID_FIELD, "Tag Length is 12 to 16 bytes, not " + tag);
    }
    return new Params(mode, padding == PADDING_PKCS5, tag);
  }

  /** Authenticated Encryption Tag and Additional Data exist from KMIP 1.4 on. */
  private static boolean aeadFields(Call call) {
    return call.version.compareTo(new org.openkcm.kmip.message.ProtocolVersion(1, 4)) >= 0;
  }

  private byte[] randomIv(Params params) {
    byte[] iv = new byte[params.gcm() ? DEFAULT_IV_BYTES : 16];
    random.nextBytes(iv);
    return iv;
  }

  private static void checkIv(Params params, byte[] iv) {
    if (!params.gcm() && iv.length != 16) {
      throw new KmipException(ResultReason.INVALID_FIELD, "a CBC IV is 16 bytes");
    }
    if (iv.length < 8 || iv.length > 128) {
      throw new KmipException(
          ResultReason.INVALID_FIELD, "a GCM IV/nonce is 8 to 128 bytes (12 recommended)");
    }
  }

  private byte[] run(
      Call call, ManagedObject o, int mode, Params params, byte[] iv, Item.Struct p, byte[] input) {
    byte[] key = protector.open(call.owner, o.uid(), o.protectedMaterial().orElseThrow());
    try {
      Cipher c = Cipher.getInstance(params.transformation());
      if (params.gcm()) {
        c.init(mode, new SecretKeySpec(key, "AES"), new GCMParameterSpec(params.tagBytes * 8, iv));
        Items.optBytes(p, Tag.AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA).ifPresent(c::updateAAD);
      } else {
        c.init(mode, new SecretKeySpec(key, "AES"), new javax.crypto.spec.IvParameterSpec(iv));
      }
      return c.doFinal(input);
    } catch (AEADBadTagException e) {
      throw new KmipException(
          ResultReason.CRYPTOGRAPHIC_FAILURE,
          "the data, IV, tag or additional data do not match what was encrypted");
    } catch (GeneralSecurityException e) {
      throw new KmipException(
          ResultReason.CRYPTOGRAPHIC_FAILURE, "AES-GCM failed: " + e.getMessage());
    } finally {
      Arrays.fill(key, (byte) 0);
    }
  }
}
