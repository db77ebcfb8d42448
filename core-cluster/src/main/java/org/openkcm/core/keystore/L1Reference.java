package org.openkcm.core.keystore;

import java.util.regex.Pattern;

/**
 * A reference to a customer's root key (L1) in the customer's keystore: {@code scheme:key-id}, e.g.
 * {@code devfile:acme-root}. OpenKCM stores and logs only this reference, never the key.
 */
public record L1Reference(String scheme, String keyId) {

  private static final Pattern SCHEME = Pattern.compile("[a-z][a-z0-9-]{0,31}");
  private static final int MAX_LENGTH = 2048;

  public L1Reference {
    if (scheme == null || !SCHEME.matcher(scheme).matches()) {
      throw new IllegalArgumentException(
          "L1 reference scheme must be lower-case letters/digits/'-', was '" + scheme + "'");
    }
    if (keyId == null || keyId.isBlank()) {
      throw new IllegalArgumentException("L1 reference has no key id after '" + scheme + ":'");
    }
  }

  /** Parses {@code scheme:key-id}; the message of the exception says what is wrong. */
  public static L1Reference parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException(
          "L1 reference is empty; expected scheme:key-id, e.g. devfile:acme-root");
    }
    if (text.length() > MAX_LENGTH) {
      throw new IllegalArgumentException(
          "L1 reference is " + text.length() + " characters; at most " + MAX_LENGTH);
    }
    int colon = text.indexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException(
          "L1 reference '"
              + text
              + "' has no scheme; expected scheme:key-id, e.g. devfile:acme-root");
    }
    return new L1Reference(text.substring(0, colon), text.substring(colon + 1));
  }

  /**
   * The key domain the customer owns that this key lives in, pinned at onboarding: a re-link may
   * only move a tenant to another key of the same domain. AWS KMS: partition, account and region of
   * the ARN ({@code aws-kms:aws:111122223333:eu-west-1}); PKCS#11: the token ({@code
   * pkcs11:token=acme-hsm}); development file keystore: {@code devfile} (development only). Any
   * other reference is its own domain.
   */
  public String keyDomain() {
    switch (scheme) {
      case "aws-kms":
        {
          String[] arn = keyId.split(":", 6);
          if (arn.length == 6
              && arn[0].equals("arn")
              && arn[2].equals("kms")
              && !arn[3].isBlank()
              && !arn[4].isBlank()) {
            return scheme + ":" + arn[1] + ":" + arn[4] + ":" + arn[3];
          }
          return asString();
        }
      case "pkcs11":
        {
          for (String attr : keyId.split(";")) {
            if (attr.startsWith("token=")) {
              return scheme + ":" + attr;
            }
          }
          return asString();
        }
      case "devfile":
        return scheme;
      default:
        return asString();
    }
  }

  public String asString() {
    return scheme + ":" + keyId;
  }

  @Override
  public String toString() {
    return asString();
  }
}
