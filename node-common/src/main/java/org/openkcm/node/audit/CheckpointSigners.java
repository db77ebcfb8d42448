package org.openkcm.node.audit;

import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.openkcm.node.tls.Pem;
import org.openkcm.node.tls.SpiffeId;

/**
 * Who may sign audit checkpoints: a certificate issued by the trust bundle (PKIX, checked at the
 * time it signed, since a checkpoint outlives its node's short-lived certificate) to a node
 * identity ({@code core/…} or {@code gateway/…}) of the trust domain. The checkpoint's own row
 * names its certificate: without this check anyone who can write the table re-signs a rewritten
 * chain with a certificate of their own making.
 */
public final class CheckpointSigners implements AuditChain.Signers {

  private static final Set<String> NODE_KINDS = Set.of("core", "gateway");

  private final Set<TrustAnchor> anchors;
  private final String trustDomain;

  private CheckpointSigners(Set<TrustAnchor> anchors, String trustDomain) {
    this.anchors = anchors;
    this.trustDomain = trustDomain;
  }

  /** The CA certificates of {@code bundle} (PEM) for the nodes of {@code trustDomain}. */
  public static CheckpointSigners fromBundle(Path bundle, String trustDomain) throws IOException {
    Set<TrustAnchor> anchors = new HashSet<>();
    for (X509Certificate ca : Pem.readCertificates(bundle)) {
      anchors.add(new TrustAnchor(ca, null));
    }
    if (anchors.isEmpty()) {
      throw new IOException("no certificate in the trust bundle " + bundle);
    }
    return new CheckpointSigners(anchors, trustDomain);
  }

  @Override
  public Optional<String> problem(X509Certificate certificate) {
    Optional<SpiffeId> id = SpiffeId.of(certificate);
    if (id.isEmpty()) {
      return Optional.of("it names no SPIFFE identity");
    }
    if (!id.get().trustDomain().equals(trustDomain) || !NODE_KINDS.contains(id.get().kind())) {
      return Optional.of(id.get().uri() + " is not a node of " + trustDomain);
    }
    try {
      PKIXParameters params = new PKIXParameters(anchors);
      params.setRevocationEnabled(false);
      // valid when it was used: its own start (a checkpoint is verified long after it expired)
      params.setDate(certificate.getNotBefore());
      CertPathValidator.getInstance("PKIX")
          .validate(
              CertificateFactory.getInstance("X.509").generateCertPath(List.of(certificate)),
              params);
      return Optional.empty();
    } catch (GeneralSecurityException e) {
      return Optional.of(id.get().uri() + " is not issued by the trust bundle");
    }
  }
}
