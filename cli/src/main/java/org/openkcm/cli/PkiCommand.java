package org.openkcm.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.openkcm.node.tls.DevCa;
import org.openkcm.node.tls.SpiffeId;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ./openkcm pki issue}: more certificates from the demo's DEVELOPMENT CA. */
@Command(
    name = "pki",
    mixinStandardHelpOptions = true,
    description =
        "The development CA of the demo (NOT FOR PRODUCTION: use your platform's CA there).",
    subcommands = {PkiCommand.Issue.class})
final class PkiCommand {

  @Command(
      name = "issue",
      mixinStandardHelpOptions = true,
      description =
          "Issue a certificate and key for a SPIFFE id, e.g. spiffe://openkcm.local/app/acme/payments "
              + "(an application: gRPC or KMIP client); "
              + "prints {\"cert\", \"key\", \"trustBundle\", \"id\", \"notAfter\"}.")
  static final class Issue implements Callable<Integer> {

    @Option(
        names = "--id",
        required = true,
        description =
            "SPIFFE id: spiffe://<domain>/app/<tenant>/<service>, .../gateway/<name>, .../admin/<name>, .../core/<name>.")
    String id;

    @Option(
        names = "--out",
        required = true,
        description = "Directory for <name>.crt and <name>.key (0600).")
    Path out;

    @Option(names = "--name", description = "File name stem (default: the last segment of the id).")
    String name;

    @Option(
        names = "--days",
        defaultValue = "90",
        description = "Validity in days (default: ${DEFAULT-VALUE}).")
    int days;

    @Option(
        names = "--ca-dir",
        description = "Directory of the development CA (default: DATA_DIR/pki).")
    Path caDir;

    @Option(
        names = "--data-dir",
        defaultValue = "./data",
        description = "Data dir of the demo (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    @Override
    public Integer call() {
      SpiffeId spiffe;
      try {
        spiffe = SpiffeId.parse(id);
      } catch (IllegalArgumentException e) {
        throw new OpenKcmException(ErrorReason.INVALID_ARGUMENT, "--id: " + e.getMessage());
      }
      if (days < 1 || days > 3650) {
        throw new OpenKcmException(ErrorReason.INVALID_ARGUMENT, "--days must be 1..3650");
      }
      Path ca = caDir != null ? caDir : dataDir.resolve("pki");
      if (!ca.resolve(DevCa.CA_CERT).toFile().exists()) {
        throw new OpenKcmException(
            ErrorReason.INVALID_ARGUMENT,
            "no development CA in " + ca + " (start `./openkcm demo` once, or pass --ca-dir)");
      }
      String stem = name != null ? name : spiffe.segments().get(spiffe.segments().size() - 1);
      Path cert = out.resolve(stem + ".crt");
      Path key = out.resolve(stem + ".key");
      DevCa.loadOrCreate(ca, spiffe.trustDomain()).issue(spiffe, Duration.ofDays(days), cert, key);
      Map<String, Object> json = new LinkedHashMap<>();
      json.put("id", spiffe.uri());
      json.put("cert", cert.toAbsolutePath().toString());
      json.put("key", key.toAbsolutePath().toString());
      json.put("trustBundle", ca.resolve(DevCa.CA_CERT).toAbsolutePath().toString());
      json.put("days", days);
      Cli.printJson(json);
      return 0;
    }
  }
}
