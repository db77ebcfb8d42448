package org.openkcm.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import org.openkcm.node.tls.DevCa;
import org.openkcm.node.tls.MutualTls;
import org.openkcm.node.tls.NodeTls;
import org.openkcm.node.tls.SpiffeId;
import org.openkcm.systemtest.DemoStack;

/**
 * Where a CLI command connects and with which client certificate: an explicit HOST:PORT (plaintext
 * unless {@code --tls-dir} is given), or the running demo's {@code endpoints.json} (mTLS with the
 * demo's certificates when the demo runs with TLS).
 *
 * <p>Admin commands present {@code cli.crt} (the demo's {@code admin/cli}). Data-key commands act
 * for one application, {@code app/<tenant>/<service>}: with the demo's development CA in the TLS
 * directory ({@code ca.key} beside {@code ca.crt}) that application's certificate is issued there
 * on first use; otherwise the directory's {@code cli.crt} is presented, which must then be the
 * caller's app certificate.
 */
record Target(HostPort at, Optional<MutualTls> tls) {

  /** The certificate files the CLI presents (see {@link DemoStack#CLIENT_FILES}). */
  static final String CLIENT_FILES = DemoStack.CLIENT_FILES;

  static Target resolve(
      String explicit, Path dataDir, Path tlsDir, Function<Endpoints, String> pick) {
    Resolved r = locate(explicit, dataDir, tlsDir, pick);
    return new Target(r.at(), r.tlsDir().map(d -> load(d, CLIENT_FILES)));
  }

  /**
   * Like {@link #resolve}, presenting the identity of application {@code tenant}/{@code service}.
   */
  static Target resolveApp(
      String explicit,
      Path dataDir,
      Path tlsDir,
      Function<Endpoints, String> pick,
      String tenant,
      String service) {
    Resolved r = locate(explicit, dataDir, tlsDir, pick);
    return new Target(r.at(), r.tlsDir().map(d -> appIdentity(d, tenant, service)));
  }

  /**
   * Like {@link #resolve}, presenting the demo gateway's own certificate ({@code gateway.crt} in
   * the TLS directory, when there): only gateways may call the Core's key API (the Core benchmarks
   * do).
   */
  static Target resolveGateway(
      String explicit, Path dataDir, Path tlsDir, Function<Endpoints, String> pick) {
    Resolved r = locate(explicit, dataDir, tlsDir, pick);
    return new Target(
        r.at(),
        r.tlsDir()
            .map(d -> load(d, Files.exists(d.resolve("gateway.crt")) ? "gateway" : CLIENT_FILES)));
  }

  /**
   * Like {@link #resolve}, presenting admin identity {@code name}, issued from the development CA
   * on first use.
   */
  static Target resolveAdmin(
      String explicit, Path dataDir, Path tlsDir, Function<Endpoints, String> pick, String name) {
    Resolved r = locate(explicit, dataDir, tlsDir, pick);
    return new Target(
        r.at(), r.tlsDir().map(d -> issued(d, "admin-" + name, List.of("admin", name))));
  }

  private record Resolved(HostPort at, Optional<Path> tlsDir) {}

  private static Resolved locate(
      String explicit, Path dataDir, Path tlsDir, Function<Endpoints, String> pick) {
    if (explicit != null) {
      return new Resolved(HostPort.parse(explicit), Optional.ofNullable(tlsDir));
    }
    Endpoints e = Endpoints.read(dataDir);
    Path dir = tlsDir != null ? tlsDir : e.tlsDir() == null ? null : Path.of(e.tlsDir());
    return new Resolved(HostPort.parse(pick.apply(e)), Optional.ofNullable(dir));
  }

  private static MutualTls appIdentity(Path dir, String tenant, String service) {
    if (!Files.exists(dir.resolve(DevCa.CA_KEY))) {
      return load(dir, CLIENT_FILES);
    }
    return issued(dir, "app-" + tenant + "-" + service, List.of("app", tenant, service));
  }

  /**
   * {@code dir/<base>.crt} for {@code spiffe://<domain>/<segments>}, issued by the development CA
   * in {@code dir}.
   */
  private static MutualTls issued(Path dir, String base, List<String> segments) {
    if (!Files.exists(dir.resolve(DevCa.CA_KEY))) {
      throw new org.openkcm.protocol.error.OpenKcmException(
          org.openkcm.protocol.error.ErrorReason.INVALID_ARGUMENT,
          "no development CA ("
              + dir.resolve(DevCa.CA_KEY)
              + ") to issue "
              + String.join("/", segments)
              + " from; present that identity's certificate with --tls-dir");
    }
    String domain = MutualTls.Settings.forDir(dir, CLIENT_FILES).trustDomain();
    DevCa.loadOrCreate(dir, domain)
        .ensure(dir, base, new SpiffeId(domain, segments), NodeTls.DEV_VALIDITY);
    return load(dir, base);
  }

  private static MutualTls load(Path dir, String base) {
    return MutualTls.load(MutualTls.Settings.forDir(dir, base));
  }
}
