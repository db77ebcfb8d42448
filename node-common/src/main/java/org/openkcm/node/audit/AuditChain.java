package org.openkcm.node.audit;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * The hash chain of one tenant's audit records: record {@code n} stores {@code hash(n) = SHA-256(
 * "openkcm-audit-v1" | n | hash(n-1) | at | body)} and {@code hash(n-1)}; record 1 follows 32 zero
 * bytes. Checkpoints sign {@code (tenant, n, hash(n))} with the writing node's certificate key, so
 * a rewrite of the chain (which anyone can recompute) still breaks at the next checkpoint. {@link
 * #verify} names the first record that does not hold.
 */
public final class AuditChain {

  public static final byte[] GENESIS = new byte[32];

  /** One stored record. */
  public record Row(long seq, Instant at, String body, byte[] prevHash, byte[] hash) {}

  /** One stored checkpoint. */
  public record Checkpoint(
      long seq,
      byte[] hash,
      String algorithm,
      byte[] signature,
      Optional<X509Certificate> signer) {}

  /** What a verification found: fine, or the first thing that does not hold. */
  public record Verdict(
      long records, long checkpoints, long signedCheckpoints, Optional<String> firstProblem) {
    public boolean ok() {
      return firstProblem.isEmpty();
    }
  }

  /**
   * Who may sign checkpoints: empty when the certificate is acceptable (issued by the trust bundle
   * to a node identity of the trust domain), else why not.
   */
  @FunctionalInterface
  public interface Signers {
    Optional<String> problem(X509Certificate certificate);
  }

  /**
   * How strict a verification is. {@code maxGap}: checkpoints at most this many records apart, from
   * the start and up to the end (a writer checkpoints every {@code checkpoint-every} records; 0:
   * not checked). {@code signers}: when present every checkpoint must be signed, by one of them.
   * {@code anchors}: checkpoints kept outside the database (exported earlier): the records they
   * name must still hash to what they say.
   */
  public record Policy(long maxGap, Optional<Signers> signers, List<Checkpoint> anchors) {
    public static final Policy LENIENT = new Policy(0, Optional.empty(), List.of());
  }

  private AuditChain() {}

  public static byte[] hash(long seq, byte[] prev, Instant at, String body) {
    return hash(sha256(), seq, prev, at.toString(), body);
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static final byte[] DOMAIN = "openkcm-audit-v1".getBytes(StandardCharsets.US_ASCII);

  /**
   * {@link #hash(long, byte[], Instant, String)} with a caller's digest (reset here; a writer keeps
   * one) and the instant already as text ({@link Instant#toString}).
   */
  static byte[] hash(MessageDigest sha256, long seq, byte[] prev, String at, String body) {
    return hash(sha256, seq, prev, at, body.getBytes(StandardCharsets.UTF_8));
  }

  /** The same with the body's UTF-8 bytes (a writer encodes it once, for the hash and the row). */
  static byte[] hash(MessageDigest sha256, long seq, byte[] prev, String at, byte[] b) {
    sha256.reset();
    sha256.update(DOMAIN);
    byte[] t = at.getBytes(StandardCharsets.US_ASCII);
    ByteBuffer fixed = ByteBuffer.allocate(8 + 4);
    sha256.update(fixed.putLong(seq).array(), 0, 8);
    sha256.update(prev);
    sha256.update(fixed.putInt(0, t.length).array(), 0, 4);
    sha256.update(t);
    sha256.update(fixed.putInt(0, b.length).array(), 0, 4);
    return sha256.digest(b);
  }

  /** What a checkpoint signs. */
  public static byte[] checkpointPayload(String tenant, long seq, byte[] hash) {
    byte[] t = tenant.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(28 + 4 + t.length + 8 + hash.length)
        .put("openkcm-audit-checkpoint-v1".getBytes(StandardCharsets.US_ASCII))
        .put((byte) 0)
        .putInt(t.length)
        .put(t)
        .putLong(seq)
        .put(hash)
        .array();
  }

  /**
   * Checks {@code rows} (in sequence order) and {@code checkpoints} of {@code tenant}: numbering
   * from 1 without gaps, each record's hash and link to the one before, each checkpoint's hash
   * against its record and its signature; and that no checkpoint points past the last record.
   */
  public static Verdict verify(String tenant, List<Row> rows, List<Checkpoint> checkpoints) {
    return verify(tenant, rows, checkpoints, Policy.LENIENT);
  }

  /**
   * {@link #verify(String, List, List)}, then what {@code policy} asks: no checkpoint missing
   * (gaps), every checkpoint signed by an accepted signer, every anchor matched.
   */
  public static Verdict verify(
      String tenant, List<Row> rows, List<Checkpoint> checkpoints, Policy policy) {
    Verdict chain = verifyChain(tenant, rows, checkpoints);
    if (!chain.ok()) {
      return chain;
    }
    java.util.Map<Long, byte[]> hashes = new java.util.HashMap<>();
    rows.forEach(r -> hashes.put(r.seq(), r.hash()));
    for (Checkpoint a : policy.anchors()) {
      byte[] h = hashes.get(a.seq());
      if (h == null || !MessageDigest.isEqual(h, a.hash())) {
        return bad(
            rows,
            checkpoints,
            "record "
                + a.seq()
                + (h == null ? " is gone" : " no longer hashes")
                + " to what the anchor kept outside says (rewritten since it was exported)");
      }
    }
    if (policy.signers().isPresent()) {
      for (Checkpoint c : checkpoints) {
        if (c.signer().isEmpty() || c.signature() == null || c.algorithm() == null) {
          return bad(rows, checkpoints, "checkpoint " + c.seq() + " is not signed");
        }
        Optional<String> signer = policy.signers().get().problem(c.signer().get());
        if (signer.isPresent()) {
          return bad(
              rows,
              checkpoints,
              "checkpoint "
                  + c.seq()
                  + " is signed by a certificate not accepted: "
                  + signer.get());
        }
      }
    }
    if (policy.maxGap() > 0) {
      long last = 0;
      for (Checkpoint c : checkpoints) {
        if (c.seq() - last > policy.maxGap()) {
          return bad(
              rows,
              checkpoints,
              "no checkpoint between records "
                  + last
                  + " and "
                  + c.seq()
                  + " (checkpoints deleted? at most "
                  + policy.maxGap()
                  + " apart)");
        }
        last = c.seq();
      }
      if (rows.size() - last > policy.maxGap()) {
        return bad(
            rows,
            checkpoints,
            "no checkpoint after record "
                + last
                + " of "
                + rows.size()
                + " (checkpoints deleted? at most "
                + policy.maxGap()
                + " apart)");
      }
    }
    return chain;
  }

  private static Verdict verifyChain(String tenant, List<Row> rows, List<Checkpoint> checkpoints) {
    byte[] prev = GENESIS;
    long expected = 1;
    java.util.Map<Long, byte[]> hashes = new java.util.HashMap<>();
    for (Row r : rows) {
      if (r.seq() != expected) {
        return bad(
            rows,
            checkpoints,
            r.seq() > expected
                ? "record "
                    + expected
                    + " is missing (deleted?): the next stored record is "
                    + r.seq()
                : "record "
                    + r.seq()
                    + " is out of order or duplicated (expected "
                    + expected
                    + ")");
      }
      if (!MessageDigest.isEqual(r.prevHash(), prev)) {
        return bad(
            rows,
            checkpoints,
            "record "
                + r.seq()
                + " does not follow record "
                + (r.seq() - 1)
                + " (inserted or reordered)");
      }
      byte[] h = hash(r.seq(), r.prevHash(), r.at(), r.body());
      if (!MessageDigest.isEqual(h, r.hash())) {
        return bad(rows, checkpoints, "record " + r.seq() + " was changed after it was written");
      }
      hashes.put(r.seq(), h);
      prev = h;
      expected++;
    }
    for (Checkpoint c : checkpoints) {
      byte[] h = hashes.get(c.seq());
      if (h == null) {
        return bad(
            rows,
            checkpoints,
            "checkpoint at record "
                + c.seq()
                + " but the trail ends at "
                + (expected - 1)
                + " (records deleted from the end)");
      }
      if (!MessageDigest.isEqual(h, c.hash())) {
        return bad(
            rows,
            checkpoints,
            "records up to "
                + c.seq()
                + " differ from what checkpoint "
                + c.seq()
                + " signed (rewritten)");
      }
      if (c.algorithm() != null && (c.signer().isEmpty() || c.signature() == null)) {
        return bad(
            rows, checkpoints, "checkpoint " + c.seq() + " lost its signature or certificate");
      }
      if (c.signer().isPresent() && !signatureHolds(tenant, c)) {
        return bad(rows, checkpoints, "checkpoint " + c.seq() + " has a bad signature");
      }
    }
    long signed = checkpoints.stream().filter(c -> c.signer().isPresent()).count();
    return new Verdict(rows.size(), checkpoints.size(), signed, Optional.empty());
  }

  private static boolean signatureHolds(String tenant, Checkpoint c) {
    try {
      PublicKey key = c.signer().get().getPublicKey();
      Signature s = Signature.getInstance(c.algorithm());
      s.initVerify(key);
      s.update(checkpointPayload(tenant, c.seq(), c.hash()));
      return s.verify(c.signature());
    } catch (java.security.GeneralSecurityException e) {
      return false;
    }
  }

  private static Verdict bad(List<Row> rows, List<Checkpoint> cps, String why) {
    long signed = cps.stream().filter(c -> c.signer().isPresent()).count();
    return new Verdict(rows.size(), cps.size(), signed, Optional.of(why));
  }

  public static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }
}
