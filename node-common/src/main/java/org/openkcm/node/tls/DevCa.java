package org.openkcm.node.tls;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A DEVELOPMENT certificate authority in a directory ({@code ca.crt}, {@code ca.key}, 0600): the
 * demo's mTLS on one machine, and {@code ./openkcm pki issue}. EC P-256 keys, ECDSA-SHA256; every
 * leaf carries one SPIFFE URI SAN plus DNS {@code localhost} and IP {@code 127.0.0.1}. Production
 * uses the platform's own CA (SPIRE, cert-manager, ...): point {@code openkcm.tls} at its files.
 */
public final class DevCa {

  public static final String CA_CERT = "ca.crt";
  public static final String CA_KEY = "ca.key";
  private static final Logger log = LoggerFactory.getLogger(DevCa.class);
  private static final SecureRandom RANDOM = new SecureRandom();

  private final X509Certificate cert;
  private final PrivateKey key;

  private DevCa(X509Certificate cert, PrivateKey key) {
    this.cert = cert;
    this.key = key;
  }

  /**
   * The CA in {@code dir}, created (valid ten years) for {@code trustDomain} when the directory has
   * none.
   */
  public static synchronized DevCa loadOrCreate(Path dir, String trustDomain) {
    Path certFile = dir.resolve(CA_CERT);
    Path keyFile = dir.resolve(CA_KEY);
    try {
      if (Files.exists(certFile) && Files.exists(keyFile)) {
        return new DevCa(Pem.readCertificates(certFile).get(0), Pem.readPrivateKey(keyFile));
      }
      KeyPair pair = newKeyPair();
      X500Name name =
          new X500Name(
              "CN=OpenKCM DEVELOPMENT CA " + trustDomain + ",O=OpenKCM (not for production)");
      Instant now = Instant.now();
      X509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
                  name,
                  serial(),
                  Date.from(now.minus(Duration.ofMinutes(5))),
                  Date.from(now.plus(Duration.ofDays(3650))),
                  name,
                  pair.getPublic())
              .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
              .addExtension(
                  Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
              .addExtension(
                  Extension.subjectKeyIdentifier,
                  false,
                  new JcaX509ExtensionUtils().createSubjectKeyIdentifier(pair.getPublic()));
      X509Certificate cert = sign(b, pair.getPrivate());
      Pem.write(keyFile, true, pair.getPrivate());
      Pem.write(certFile, false, cert);
      log.warn(
          "created a DEVELOPMENT certificate authority for trust domain {} in {} (NOT FOR PRODUCTION)",
          trustDomain,
          dir.toAbsolutePath());
      return new DevCa(cert, pair.getPrivate());
    } catch (IOException e) {
      throw new UncheckedIOException("development CA in " + dir + ": " + e.getMessage(), e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("development CA in " + dir + ": " + e.getMessage(), e);
    }
  }

  /**
   * Issues a leaf for {@code id}, valid from {@code notBefore} to {@code notAfter}, into {@code
   * certFile}/{@code keyFile}.
   */
  public void issue(SpiffeId id, Instant notBefore, Instant notAfter, Path certFile, Path keyFile) {
    try {
      KeyPair pair = newKeyPair();
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
                  cert,
                  serial(),
                  Date.from(notBefore),
                  Date.from(notAfter),
                  new X500Name("CN=" + id.segments().get(id.segments().size() - 1) + ",O=OpenKCM"),
                  pair.getPublic())
              .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
              .addExtension(
                  Extension.keyUsage,
                  true,
                  new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement))
              .addExtension(
                  Extension.extendedKeyUsage,
                  false,
                  new ExtendedKeyUsage(
                      new KeyPurposeId[] {
                        KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth
                      }))
              .addExtension(
                  Extension.subjectAlternativeName,
                  false,
                  new GeneralNames(
                      new GeneralName[] {
                        new GeneralName(GeneralName.uniformResourceIdentifier, id.uri()),
                        new GeneralName(GeneralName.dNSName, "localhost"),
                        new GeneralName(
                            GeneralName.iPAddress,
                            InetAddress.getLoopbackAddress().getHostAddress())
                      }))
              .addExtension(
                  Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(cert))
              .addExtension(
                  Extension.subjectKeyIdentifier,
                  false,
                  ext.createSubjectKeyIdentifier(pair.getPublic()));
      X509Certificate leaf = sign(b, key);
      Pem.write(keyFile, true, pair.getPrivate());
      Pem.write(certFile, false, leaf);
      log.info(
          "issued a development certificate for {} (valid until {}) into {}",
          id,
          notAfter,
          certFile);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(
          "cannot issue a certificate for " + id + ": " + e.getMessage(), e);
    }
  }

  /** Issues a leaf for {@code id} valid for {@code validity} from now. */
  public void issue(SpiffeId id, Duration validity, Path certFile, Path keyFile) {
    Instant now = Instant.now();
    issue(id, now.minus(Duration.ofMinutes(5)), now.plus(validity), certFile, keyFile);
  }

  /** Issues {@code dir/<base>.crt|.key} for {@code id} unless both exist. */
  public void ensure(Path dir, String base, SpiffeId id, Duration validity) {
    Path certFile = dir.resolve(base + ".crt");
    Path keyFile = dir.resolve(base + ".key");
    if (!Files.exists(certFile) || !Files.exists(keyFile)) {
      issue(id, validity, certFile, keyFile);
    }
  }

  public X509Certificate certificate() {
    return cert;
  }

  private static KeyPair newKeyPair() throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
    return g.generateKeyPair();
  }

  private static BigInteger serial() {
    return new BigInteger(127, RANDOM).add(BigInteger.ONE);
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey signer)
      throws GeneralSecurityException {
    try {
      return new JcaX509CertificateConverter()
          .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer)));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException(e.getMessage(), e);
    }
  }
}
