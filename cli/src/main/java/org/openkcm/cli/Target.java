package org.openkcm.cli;

import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Function;
import org.openkcm.protocol.tls.MutualTls;

/**
 * Where a CLI command connects and with which client certificate: an explicit HOST:PORT (plaintext unless
 * {@code --tls-dir} is given), or the running demo's {@code endpoints.json} (mTLS with the demo's
 * {@code cli} certificate when the demo runs with TLS).
 */
record Target(HostPort at, Optional<MutualTls> tls) {

  /** The certificate files the CLI presents: {@code <tls-dir>/cli.crt}, {@code cli.key}, {@code ca.crt}. */
  static final String CLIENT_FILES = "cli";

  static Target resolve(String explicit, Path dataDir, Path tlsDir, Function<Endpoints, String> pick) {
    if (explicit != null) {
      return new Target(HostPort.parse(explicit), Optional.ofNullable(tlsDir).map(Target::load));
    }
    Endpoints e = Endpoints.read(dataDir);
    Path dir = tlsDir != null ? tlsDir : e.tlsDir() == null ? null : Path.of(e.tlsDir());
    return new Target(HostPort.parse(pick.apply(e)), Optional.ofNullable(dir).map(Target::load));
  }

  private static MutualTls load(Path dir) {
    return MutualTls.load(MutualTls.Settings.forDir(dir, CLIENT_FILES));
  }
}
