package org.openkcm.node.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Handshakes over real TLS sockets on loopback between {@link MutualTls} contexts. */
class MutualTlsTest {

  private static final String DOMAIN = "test.openkcm";

  @TempDir Path dir;

  private DevCa ca;

  @BeforeEach
  void setUp() {
    ca = DevCa.loadOrCreate(dir.resolve("ca"), DOMAIN);
  }

  /** Files for {@code id} issued by {@code issuer}, trusting {@code bundleOf}'s CA. */
  private MutualTls.Settings issue(DevCa issuer, String base, String id, Path bundle)
      throws IOException {
    Path d = Files.createDirectories(dir.resolve(base));
    issuer.issue(
        SpiffeId.parse(id), Duration.ofDays(1), d.resolve("node.crt"), d.resolve("node.key"));
    return new MutualTls.Settings(
        d.resolve("node.crt"),
        d.resolve("node.key"),
        bundle,
        DOMAIN,
        List.of("TLSv1.3"),
        Duration.ofMillis(1));
  }

  private Path caBundle() {
    return dir.resolve("ca").resolve(DevCa.CA_CERT);
  }

  /**
   * Server accepting {@code kinds}; one client handshake; the server's view of the peer (or its
   * failure).
   */
  private static Optional<SpiffeId> handshake(
      MutualTls server, Set<String> kinds, SSLContext client) throws Exception {
    SSLContext serverCtx = server.sslContext(kinds);
    try (SSLServerSocket listener =
        (SSLServerSocket)
            serverCtx
                .getServerSocketFactory()
                .createServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      listener.setNeedClientAuth(true);
      listener.setEnabledProtocols(new String[] {"TLSv1.3"});
      listener.setSoTimeout(10_000);
      CompletableFuture<Optional<SpiffeId>> seen =
          CompletableFuture.supplyAsync(
              () -> {
                try (SSLSocket s = (SSLSocket) listener.accept()) {
                  s.setSoTimeout(10_000);
                  s.startHandshake();
                  s.getOutputStream().write(1);
                  s.getOutputStream().flush();
                  return MutualTls.peer(s.getSession());
                } catch (IOException e) {
                  throw new IllegalStateException(e.getMessage(), e);
                }
              });
      try (SSLSocket c =
          (SSLSocket)
              client
                  .getSocketFactory()
                  .createSocket(InetAddress.getLoopbackAddress(), listener.getLocalPort())) {
        c.setSoTimeout(10_000);
        c.startHandshake();
        c.getInputStream().read();
      } catch (IOException e) {
        // the server's verdict below is what the test looks at
      }
      return seen.get(20, TimeUnit.SECONDS);
    }
  }

  @Test
  void acceptsAPeerOfTheExpectedKindAndReportsItsSpiffeId() throws Exception {
    MutualTls server =
        MutualTls.load(issue(ca, "core", "spiffe://" + DOMAIN + "/core/c1", caBundle()));
    MutualTls gateway =
        MutualTls.load(issue(ca, "gw", "spiffe://" + DOMAIN + "/gateway/g1", caBundle()));
    Optional<SpiffeId> peer =
        handshake(server, Set.of("gateway"), gateway.sslContext(Set.of("core")));
    assertEquals("spiffe://" + DOMAIN + "/gateway/g1", peer.orElseThrow().uri());
    assertEquals("gateway", peer.get().kind());
  }

  @Test
  void aClientThatExpectsOnePeerRefusesAnyOtherOfItsKind() throws Exception {
    MutualTls usCore =
        MutualTls.load(issue(ca, "us", "spiffe://" + DOMAIN + "/core/us/n1", caBundle()));
    MutualTls euCore =
        MutualTls.load(issue(ca, "eu", "spiffe://" + DOMAIN + "/core/eu/n1", caBundle()));
    SpiffeId us = SpiffeId.parse("spiffe://" + DOMAIN + "/core/us");
    SpiffeId ap = SpiffeId.parse("spiffe://" + DOMAIN + "/core/ap");
    assertEquals(
        "spiffe://" + DOMAIN + "/core/eu/n1",
        handshake(usCore, Set.of("core"), euCore.sslContextWithin(us)).orElseThrow().uri());
    assertThrows(
        java.util.concurrent.ExecutionException.class,
        () -> handshake(usCore, Set.of("core"), euCore.sslContextWithin(ap)),
        "a client reaching region ap's address refuses region us's Core answering there");
  }

  @Test
  void refusesAClientWithoutCertificate() throws Exception {
    MutualTls server =
        MutualTls.load(issue(ca, "core", "spiffe://" + DOMAIN + "/core/c1", caBundle()));
    SSLContext anonymous = SSLContext.getInstance("TLSv1.3");
    anonymous.init(null, new javax.net.ssl.TrustManager[] {server.trustManager(Set.of())}, null);
    Exception e =
        assertThrows(Exception.class, () -> handshake(server, Set.of("gateway"), anonymous));
    assertTrue(rootMessage(e).contains("certificate"), rootMessage(e));
  }

  @Test
  void refusesACertificateFromAnotherCa() throws Exception {
    MutualTls server =
        MutualTls.load(issue(ca, "core", "spiffe://" + DOMAIN + "/core/c1", caBundle()));
    DevCa other = DevCa.loadOrCreate(dir.resolve("other-ca"), DOMAIN);
    MutualTls intruder =
        MutualTls.load(
            issue(
                other,
                "intruder",
                "spiffe://" + DOMAIN + "/gateway/g1",
                dir.resolve("other-ca").resolve(DevCa.CA_CERT)));
    Exception e =
        assertThrows(
            Exception.class,
            () -> handshake(server, Set.of("gateway"), clientTrusting(intruder, server)));
    assertTrue(rootMessage(e).contains("not accepted"), rootMessage(e));
  }

  @Test
  void refusesAnExpiredCertificate() throws Exception {
    MutualTls server =
        MutualTls.load(issue(ca, "core", "spiffe://" + DOMAIN + "/core/c1", caBundle()));
    Path d = Files.createDirectories(dir.resolve("old"));
    ca.issue(
        SpiffeId.parse("spiffe://" + DOMAIN + "/gateway/g1"),
        Instant.now().minus(Duration.ofDays(10)),
        Instant.now().minus(Duration.ofDays(1)),
        d.resolve("node.crt"),
        d.resolve("node.key"));
    MutualTls expired =
        MutualTls.load(
            new MutualTls.Settings(
                d.resolve("node.crt"),
                d.resolve("node.key"),
                caBundle(),
                DOMAIN,
                List.of("TLSv1.3"),
                Duration.ofSeconds(1)));
    Exception e =
        assertThrows(
            Exception.class,
            () -> handshake(server, Set.of("gateway"), expired.sslContext(Set.of("core"))));
    assertTrue(rootMessage(e).toLowerCase().contains("expired"), rootMessage(e));
  }

  @Test
  void refusesAnIdentityOfAnotherKindOrTrustDomain() throws Exception {
    MutualTls server =
        MutualTls.load(issue(ca, "core", "spiffe://" + DOMAIN + "/core/c1", caBundle()));
    MutualTls app =
        MutualTls.load(issue(ca, "app", "spiffe://" + DOMAIN + "/app/acme/payments", caBundle()));
    Exception e =
        assertThrows(
            Exception.class,
            () -> handshake(server, Set.of("gateway"), app.sslContext(Set.of("core"))));
    assertTrue(rootMessage(e).contains("a app identity"), rootMessage(e));

    Path d = Files.createDirectories(dir.resolve("foreign"));
    ca.issue(
        SpiffeId.parse("spiffe://elsewhere.example/gateway/g1"),
        Duration.ofDays(1),
        d.resolve("node.crt"),
        d.resolve("node.key"));
    MutualTls foreign =
        MutualTls.load(
            new MutualTls.Settings(
                d.resolve("node.crt"),
                d.resolve("node.key"),
                caBundle(),
                "elsewhere.example",
                List.of("TLSv1.3"),
                Duration.ofSeconds(1)));
    Exception f =
        assertThrows(
            Exception.class,
            () -> handshake(server, Set.of("gateway"), clientTrusting(foreign, server)));
    assertTrue(rootMessage(f).contains("not in trust domain"), rootMessage(f));
  }

  @Test
  void picksUpRotatedFilesWithoutRestartAndKeepsTheOldOnesWhenTheNewAreBroken() throws Exception {
    MutualTls.Settings serverFiles =
        issue(ca, "core", "spiffe://" + DOMAIN + "/core/c1", caBundle());
    MutualTls server = MutualTls.load(serverFiles);
    MutualTls.Settings gwFiles = issue(ca, "gw", "spiffe://" + DOMAIN + "/gateway/g1", caBundle());
    MutualTls gateway = MutualTls.load(gwFiles);
    assertEquals(
        "g1",
        handshake(server, Set.of("gateway"), gateway.sslContext(Set.of("core")))
            .orElseThrow()
            .name());

    // rotate the gateway's certificate in place: the next handshake presents the new one
    ca.issue(
        SpiffeId.parse("spiffe://" + DOMAIN + "/gateway/g2"),
        Duration.ofDays(1),
        gwFiles.certFile(),
        gwFiles.keyFile());
    touchLater(gwFiles.certFile());
    awaitIdentity(gateway, "g2");
    assertEquals(
        "g2",
        handshake(server, Set.of("gateway"), gateway.sslContext(Set.of("core")))
            .orElseThrow()
            .name());

    // a broken new file is refused; the previous certificate stays in use
    Files.writeString(
        gwFiles.certFile(), "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n");
    touchLater(gwFiles.certFile());
    for (int i = 0; i < 5; i++) {
      assertEquals("g2", gateway.identity().name());
      Thread.onSpinWait();
    }
    assertEquals(
        "g2",
        handshake(server, Set.of("gateway"), gateway.sslContext(Set.of("core")))
            .orElseThrow()
            .name());

    // the server's trust bundle grows to a second CA: its certificates are accepted without restart
    DevCa second = DevCa.loadOrCreate(dir.resolve("ca2"), DOMAIN);
    MutualTls newcomer =
        MutualTls.load(issue(second, "new", "spiffe://" + DOMAIN + "/gateway/g3", caBundle()));
    assertThrows(
        Exception.class,
        () -> handshake(server, Set.of("gateway"), newcomer.sslContext(Set.of("core"))));
    Files.writeString(
        serverFiles.trustBundleFile(),
        Files.readString(caBundle()) + Files.readString(dir.resolve("ca2").resolve(DevCa.CA_CERT)));
    touchLater(serverFiles.trustBundleFile());
    assertEquals(
        "g3",
        handshake(server, Set.of("gateway"), newcomer.sslContext(Set.of("core")))
            .orElseThrow()
            .name());
  }

  @Test
  void missingFilesAreNamedWithWhatToSet() {
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () ->
                MutualTls.load(
                    new MutualTls.Settings(
                        dir.resolve("none.crt"),
                        dir.resolve("none.key"),
                        caBundle(),
                        DOMAIN,
                        List.of("TLSv1.3"),
                        Duration.ofSeconds(1))));
    assertTrue(e.getMessage().contains("no file " + dir.resolve("none.crt")), e.getMessage());
    assertTrue(e.getMessage().contains("openkcm.tls.cert-file"), e.getMessage());
  }

  @Test
  void parsesAndRefusesSpiffeIds() {
    SpiffeId id = SpiffeId.parse("spiffe://openkcm.local/app/acme/payments");
    assertEquals("app", id.kind());
    assertEquals("acme/payments", id.name());
    for (String bad :
        new String[] {
          "https://x/app",
          "spiffe://",
          "spiffe://UPPER/app",
          "spiffe://d",
          "spiffe://d/",
          "spiffe://d/a//b",
          "spiffe://d/a/../b",
          "spiffe://d/a b"
        }) {
      assertThrows(IllegalArgumentException.class, () -> SpiffeId.parse(bad), bad);
    }
    assertFalse(SpiffeId.of(ca.certificate()).isPresent(), "the CA carries no SPIFFE id");
  }

  /**
   * A context presenting {@code who}'s certificate that trusts {@code server}'s CA (to reach the
   * server's check).
   */
  private static SSLContext clientTrusting(MutualTls who, MutualTls server) throws Exception {
    SSLContext ctx = SSLContext.getInstance("TLSv1.3");
    ctx.init(
        new javax.net.ssl.KeyManager[] {who.keyManager()},
        new javax.net.ssl.TrustManager[] {server.trustManager(Set.of())},
        null);
    return ctx;
  }

  /**
   * Moves the file's modification time forward so a change within the same millisecond is still
   * seen.
   */
  private static void touchLater(Path file) throws IOException {
    Files.setLastModifiedTime(file, FileTime.from(Instant.now().plusSeconds(5)));
  }

  private static void awaitIdentity(MutualTls tls, String name) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!tls.identity().name().equals(name)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("identity still " + tls.identity());
      }
      Thread.onSpinWait();
    }
  }

  private static String rootMessage(Throwable t) {
    StringBuilder all = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause()) {
      all.append(c.getMessage()).append(" | ");
    }
    return all.toString();
  }
}
