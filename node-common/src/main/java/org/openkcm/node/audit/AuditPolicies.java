package org.openkcm.node.audit;

import com.typesafe.config.Config;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * How strictly a node verifies the trails it shows (REST, console): checkpoints at most {@code
 * openkcm.audit.trail.checkpoint-every} apart, and, with mTLS, every one signed by a node the trust
 * bundle issued ({@link CheckpointSigners}). Without mTLS (test profile) there is no bundle to
 * check signers against.
 */
public final class AuditPolicies {

  private AuditPolicies() {}

  /** The strict policy of the node configured by {@code root}. */
  public static AuditChain.Policy forNode(Config root) {
    long every = root.getInt("openkcm.audit.trail.checkpoint-every");
    Optional<AuditChain.Signers> signers = Optional.empty();
    if (root.getBoolean("openkcm.tls.enabled")) {
      try {
        signers =
            Optional.of(
                CheckpointSigners.fromBundle(
                    Path.of(root.getString("openkcm.tls.trust-bundle-file")),
                    root.getString("openkcm.tls.trust-domain")));
      } catch (IOException e) {
        throw new UncheckedIOException(
            "the trust bundle to check audit checkpoints against: " + e.getMessage(), e);
      }
    }
    return new AuditChain.Policy(every, signers, List.of());
  }
}
