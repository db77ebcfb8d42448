package org.openkcm.node.tls;

import com.typesafe.config.Config;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's mutual-TLS material: its certificate and key and the trust bundle, read from PEM
 * files and read again when a file changes (checked at most every {@code reload-check}, on a
 * handshake), so certificates rotate without a restart. A half-written or invalid new file is
 * refused with a warning and the previous material stays in use.
 *
 * <p>A peer is accepted when its chain validates against the bundle (PKIX, validity dates included)
 * and its leaf carries one SPIFFE id in this trust domain, of one of the kinds the listener or
 * client expects. DNS names are not checked: the SPIFFE id is the identity.
 */
public final class MutualTls {

  private static final Logger log = LoggerFactory.getLogger(MutualTls.class);
  private static final String ALIAS = "openkcm";

  /** Where the files are and what is accepted ({@code openkcm.tls}). */
  public record Settings(
      Path certFile,
      Path keyFile,
      Path trustBundleFile,
      String trustDomain,
      List<String> protocols,
      Duration reloadCheck) {

    public Settings {
      protocols = List.copyOf(protocols);
    }

    /**
     * The files {@code dir/<base>.crt}, {@code dir/<base>.key} and {@code dir/ca.crt} (the
     * development CA's layout), in the trust domain of the certificate's own SPIFFE id; TLS 1.3.
     */
    public static Settings forDir(Path dir, String base) {
      Path cert = dir.resolve(base + ".crt");
      try {
        String domain =
            SpiffeId.of(Pem.readCertificates(cert).get(0))
                .map(SpiffeId::trustDomain)
                .orElseThrow(() -> new IOException(cert + " has no single spiffe:// URI SAN"));
        return new Settings(
            cert,
            dir.resolve(base + ".key"),
            dir.resolve(DevCa.CA_CERT),
            domain,
            List.of("TLSv1.3"),
            Duration.ofSeconds(1));
      } catch (IOException e) {
        throw new IllegalStateException("mTLS material in " + dir + ": " + e.getMessage(), e);
      }
    }

    public static Settings from(Config tls) {
      return new Settings(
          Path.of(tls.getString("cert-file")),
          Path.of(tls.getString("key-file")),
          Path.of(tls.getString("trust-bundle-file")),
          tls.getString("trust-domain"),
          tls.getStringList("protocols"),
          tls.getDuration("reload-check"));
    }
  }

  private record Stamp(List<Long> modified, List<Long> sizes) {}

  private record Material(
      List<X509Certificate> chain,
      PrivateKey key,
      Set<TrustAnchor> anchors,
      X509Certificate[] bundle,
      SpiffeId identity,
      Stamp stamp) {}

  private final Settings settings;
  private volatile Material material;
  private volatile long nextCheckNanos;

  private MutualTls(Settings settings, Material material) {
    this.settings = settings;
    this.material = material;
    this.nextCheckNanos = System.nanoTime() + settings.reloadCheck().toNanos();
  }

  /** Reads the files; fails with a message naming the file and the problem. */
  public static MutualTls load(Settings settings) {
    try {
      Material m = read(settings);
      log.info(
          "mTLS: presenting {} (certificate valid until {}); trust bundle {} ({} CA certificate(s)); "
              + "protocols {}",
          m.identity(),
          m.chain().get(0).getNotAfter().toInstant(),
          settings.trustBundleFile(),
          m.bundle().length,
          settings.protocols());
      return new MutualTls(settings, m);
    } catch (java.nio.file.NoSuchFileException e) {
      throw new IllegalStateException(
          "mTLS material: no file "
              + e.getFile()
              + " (set openkcm.tls.cert-file, "
              + "key-file and trust-bundle-file; for development only, openkcm.tls.dev-ca = on creates them)",
          e);
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException("mTLS material: " + e.getMessage(), e);
    }
  }

  public Settings settings() {
    return settings;
  }

  /** This node's own SPIFFE id (from its current certificate). */
  public SpiffeId identity() {
    return current().identity();
  }

  /**
   * A TLS context presenting this node's certificate and accepting peers of {@code peerKinds}
   * (empty = any).
   */
  public SSLContext sslContext(Set<String> peerKinds) {
    return context(trustManager(peerKinds));
  }

  /**
   * A TLS context presenting this node's certificate and accepting only a peer whose SPIFFE id is
   * {@code expected} or below it (a client that must reach one particular peer, not any of its
   * kind).
   */
  public SSLContext sslContextWithin(SpiffeId expected) {
    Set<String> kind = Set.of(expected.kind());
    return context(
        ReloadingManagers.trustManager(
            chain -> {
              verify(chain, kind);
              SpiffeId id = SpiffeId.of(chain[0]).orElseThrow();
              if (!id.isWithin(expected)) {
                throw refused(id.uri(), "this link expects " + expected.uri() + " or below it");
              }
            },
            () -> current().bundle().clone()));
  }

  private SSLContext context(X509ExtendedTrustManager trust) {
    try {
      SSLContext ctx =
          SSLContext.getInstance(settings.protocols().contains("TLSv1.3") ? "TLSv1.3" : "TLSv1.2");
      ctx.init(
          new X509ExtendedKeyManager[] {keyManager()},
          new X509ExtendedTrustManager[] {trust},
          new SecureRandom());
      return ctx;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot build a TLS context: " + e.getMessage(), e);
    }
  }

  /**
   * A server-side engine of {@code ctx}: client certificate required, only the configured
   * protocols.
   */
  public SSLEngine serverEngine(SSLContext ctx) {
    SSLEngine engine = ctx.createSSLEngine();
    engine.setUseClientMode(false);
    engine.setNeedClientAuth(true);
    engine.setEnabledProtocols(settings.protocols().toArray(String[]::new));
    return engine;
  }

  /**
   * The verified SPIFFE id of the peer of {@code session}, if it presented a certificate with one.
   */
  public static Optional<SpiffeId> peer(SSLSession session) {
    if (session == null) {
      return Optional.empty();
    }
    try {
      Certificate[] chain = session.getPeerCertificates();
      return chain.length > 0 && chain[0] instanceof X509Certificate leaf
          ? SpiffeId.of(leaf)
          : Optional.empty();
    } catch (SSLPeerUnverifiedException e) {
      return Optional.empty();
    }
  }

  /** Presents the current certificate and key, whatever the peer asks for. */
  public X509ExtendedKeyManager keyManager() {
    return ReloadingManagers.keyManager(
        ALIAS, () -> current().chain().toArray(X509Certificate[]::new), () -> current().key());
  }

  /**
   * Accepts peers whose chain validates against the current bundle and whose SPIFFE id is of {@code
   * kinds}.
   */
  public X509ExtendedTrustManager trustManager(Set<String> kinds) {
    Set<String> accepted = Set.copyOf(kinds);
    return ReloadingManagers.trustManager(
        chain -> verify(chain, accepted), () -> current().bundle().clone());
  }

  /** Throws with a reason a log reader understands when {@code chain} is not an acceptable peer. */
  public void verify(X509Certificate[] chain, Set<String> kinds) throws CertificateException {
    if (chain == null || chain.length == 0) {
      throw new CertificateException("the peer presented no certificate");
    }
    Material m = current();
    List<X509Certificate> path = new ArrayList<>(Arrays.asList(chain));
    while (path.size() > 1
        && m.anchors().stream()
            .anyMatch(a -> a.getTrustedCert().equals(path.get(path.size() - 1)))) {
      path.remove(path.size() - 1);
    }
    try {
      PKIXParameters params = new PKIXParameters(m.anchors());
      params.setRevocationEnabled(false);
      CertPathValidator.getInstance("PKIX")
          .validate(CertificateFactory.getInstance("X.509").generateCertPath(path), params);
    } catch (CertPathValidatorException e) {
      String who =
          SpiffeId.of(chain[0])
              .map(SpiffeId::uri)
              .orElse(chain[0].getSubjectX500Principal().getName());
      String why =
          e.getReason() == CertPathValidatorException.BasicReason.EXPIRED
              ? "certificate expired (not after "
                  + chain[e.getIndex() < 0 ? 0 : e.getIndex()].getNotAfter().toInstant()
                  + ")"
              : e.getReason() == CertPathValidatorException.BasicReason.NOT_YET_VALID
                  ? "certificate not yet valid"
                  : "chain does not lead to the trust bundle (" + e.getMessage() + ")";
      log.warn("mTLS: refused peer {}: {}", who, why);
      throw new CertificateException("certificate of " + who + " not accepted: " + why, e);
    } catch (GeneralSecurityException e) {
      throw new CertificateException("certificate path check failed: " + e.getMessage(), e);
    }
    SpiffeId id =
        SpiffeId.of(chain[0])
            .orElseThrow(
                () ->
                    refused(
                        chain[0].getSubjectX500Principal().getName(),
                        "no single spiffe:// URI SAN"));
    if (!id.trustDomain().equals(settings.trustDomain())) {
      throw refused(id.uri(), "not in trust domain " + settings.trustDomain());
    }
    if (!kinds.isEmpty() && !kinds.contains(id.kind())) {
      throw refused(id.uri(), "a " + id.kind() + " identity; this endpoint accepts " + kinds);
    }
  }

  private static CertificateException refused(String who, String why) {
    log.warn("mTLS: refused peer {}: {}", who, why);
    return new CertificateException("peer " + who + " refused: " + why);
  }

  private Material current() {
    long now = System.nanoTime();
    if (now - nextCheckNanos >= 0) {
      reloadIfChanged(now);
    }
    return material;
  }

  private synchronized void reloadIfChanged(long now) {
    if (now - nextCheckNanos < 0) {
      return;
    }
    nextCheckNanos = now + settings.reloadCheck().toNanos();
    try {
      if (stamp(settings).equals(material.stamp())) {
        return;
      }
      Material fresh = read(settings);
      material = fresh;
      log.info(
          "mTLS: reloaded changed files: now {} (certificate valid until {}), {} CA certificate(s) trusted",
          fresh.identity(),
          fresh.chain().get(0).getNotAfter().toInstant(),
          fresh.bundle().length);
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      log.warn("mTLS: changed files not usable, keeping the previous ones: {}", e.getMessage());
    }
  }

  /**
   * This node's identity check and the bundle's parse; a key that does not match its certificate is
   * refused.
   */
  private static Material read(Settings s) throws IOException, GeneralSecurityException {
    Stamp stamp = stamp(s);
    List<X509Certificate> chain = Pem.readCertificates(s.certFile());
    PrivateKey key = Pem.readPrivateKey(s.keyFile());
    List<X509Certificate> bundle = Pem.readCertificates(s.trustBundleFile());
    if (!chain.get(0).getPublicKey().getAlgorithm().equals(key.getAlgorithm())) {
      throw new GeneralSecurityException(s.keyFile() + " does not hold the key of " + s.certFile());
    }
    SpiffeId identity =
        SpiffeId.of(chain.get(0))
            .orElseThrow(
                () ->
                    new GeneralSecurityException(
                        s.certFile() + " has no single spiffe:// URI SAN"));
    if (!identity.trustDomain().equals(s.trustDomain())) {
      throw new GeneralSecurityException(
          s.certFile() + " is for " + identity + ", not trust domain " + s.trustDomain());
    }
    Set<TrustAnchor> anchors = new HashSet<>();
    bundle.forEach(c -> anchors.add(new TrustAnchor(c, null)));
    return new Material(
        List.copyOf(chain),
        key,
        Set.copyOf(anchors),
        bundle.toArray(X509Certificate[]::new),
        identity,
        stamp);
  }

  private static Stamp stamp(Settings s) throws IOException {
    List<Long> modified = new ArrayList<>();
    List<Long> sizes = new ArrayList<>();
    for (Path p : List.of(s.certFile(), s.keyFile(), s.trustBundleFile())) {
      BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
      modified.add(a.lastModifiedTime().toMillis());
      sizes.add(a.size());
    }
    return new Stamp(modified, sizes);
  }
}
