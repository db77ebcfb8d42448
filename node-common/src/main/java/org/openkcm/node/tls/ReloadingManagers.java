package org.openkcm.node.tls;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The JSSE managers of {@link MutualTls}: they read the certificate, key and trust bundle anew on
 * every handshake (so rotated files take effect without a restart) and verify peers through {@link
 * MutualTls#verify}.
 */
final class ReloadingManagers {

  /** Throws when a peer's chain is not acceptable. */
  interface Verifier {
    void verify(X509Certificate[] chain) throws CertificateException;
  }

  private ReloadingManagers() {}

  /** Presents {@code chain} and {@code key} under {@code alias}, whatever the peer asks for. */
  static X509ExtendedKeyManager keyManager(
      String alias, Supplier<X509Certificate[]> chain, Supplier<PrivateKey> key) {
    return new X509ExtendedKeyManager() {
      @Override
      public String[] getClientAliases(String keyType, Principal[] issuers) {
        return new String[] {alias};
      }

      @Override
      public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
        return alias;
      }

      @Override
      public String chooseEngineClientAlias(
          String[] keyType, Principal[] issuers, SSLEngine engine) {
        return alias;
      }

      @Override
      public String[] getServerAliases(String keyType, Principal[] issuers) {
        return new String[] {alias};
      }

      @Override
      public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return alias;
      }

      @Override
      public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return alias;
      }

      @Override
      public X509Certificate[] getCertificateChain(String alias) {
        return chain.get();
      }

      @Override
      public PrivateKey getPrivateKey(String alias) {
        return key.get();
      }
    };
  }

  /** Accepts the peers {@code verifier} accepts, naming {@code issuers} as the accepted CAs. */
  static X509ExtendedTrustManager trustManager(
      Verifier verifier, Supplier<X509Certificate[]> issuers) {
    return new X509ExtendedTrustManager() {
      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType)
          throws CertificateException {
        verifier.verify(chain);
      }

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType)
          throws CertificateException {
        verifier.verify(chain);
      }

      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
          throws CertificateException {
        verifier.verify(chain);
      }

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
          throws CertificateException {
        verifier.verify(chain);
      }

      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
          throws CertificateException {
        verifier.verify(chain);
      }

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
          throws CertificateException {
        verifier.verify(chain);
      }

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return issuers.get();
      }
    };
  }
}
