package org.openkcm.core.seal;

import com.codahale.shamir.Scheme;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * k-of-n Shamir shares of the master key (com.codahale:shamir, GF(256)), in a printable form that
 * carries its threshold and a checksum so that a mistyped share is caught on entry: {@code
 * okcm-share-v1-<k>-<index>-<base64url>-<checksum>}.
 */
public final class ShamirShares {

  private static final int MASTER_KEY_BYTES = 32;
  private static final Pattern FORM =
      Pattern.compile("okcm-share-v1-(\\d{1,3})-(\\d{1,3})-([A-Za-z0-9_-]+)-([0-9a-f]{8})");

  /** One parsed share. */
  public record Share(int threshold, int index, byte[] part) {
    @Override
    public String toString() {
      return "Share[" + index + " of threshold " + threshold + ", redacted]";
    }
  }

  private ShamirShares() {}

  public static List<String> split(
      KeyMaterial master, int shares, int threshold, SecureRandom random) {
    if (threshold < 2 || threshold > shares || shares > 255) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT,
          "need 2 <= threshold <= shares <= 255, got threshold " + threshold + " of " + shares);
    }
    byte[] secret = master.revealBytes();
    try {
      Map<Integer, byte[]> parts = new Scheme(random, shares, threshold).split(secret);
      List<String> out = new ArrayList<>();
      new TreeMap<>(parts).forEach((i, p) -> out.add(format(threshold, i, p)));
      return out;
    } finally {
      java.util.Arrays.fill(secret, (byte) 0);
    }
  }

  public static Share parse(String text) {
    Matcher m = FORM.matcher(text == null ? "" : text.strip());
    if (!m.matches()) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT,
          "not an OpenKCM unseal share (expected okcm-share-v1-<k>-<index>-<data>-<checksum>)");
    }
    int k = Integer.parseInt(m.group(1));
    int index = Integer.parseInt(m.group(2));
    byte[] part;
    try {
      part = Base64.getUrlDecoder().decode(m.group(3));
    } catch (IllegalArgumentException e) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT, "share " + index + " is damaged (not base64url)");
    }
    if (!checksum(k, index, part).equals(m.group(4))) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT,
          "share " + index + " is damaged (checksum mismatch): check it was copied completely");
    }
    if (k < 2 || k > 255 || index < 1 || index > 255) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT,
          "share "
              + index
              + " of threshold "
              + k
              + " is out of range (threshold 2..255, index 1..255)");
    }
    if (part.length != MASTER_KEY_BYTES) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT,
          "share "
              + index
              + " holds "
              + part.length
              + " bytes; a share of the master key holds "
              + MASTER_KEY_BYTES);
    }
    return new Share(k, index, part);
  }

  /** Joins at least {@code threshold} shares into a candidate master key (verify it before use). */
  public static KeyMaterial join(List<Share> shares) {
    Map<Integer, byte[]> parts = new TreeMap<>();
    shares.forEach(s -> parts.put(s.index(), s.part()));
    int k = shares.get(0).threshold();
    return KeyMaterial.adopt(new Scheme(new SecureRandom(), Math.max(k, 255), k).join(parts));
  }

  private static String format(int k, int index, byte[] part) {
    return "okcm-share-v1-"
        + k
        + "-"
        + index
        + "-"
        + Base64.getUrlEncoder().withoutPadding().encodeToString(part)
        + "-"
        + checksum(k, index, part);
  }

  private static String checksum(int k, int index, byte[] part) {
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      d.update((k + ":" + index + ":").getBytes(StandardCharsets.US_ASCII));
      d.update(part);
      return HexFormat.of().formatHex(d.digest(), 0, 4);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
