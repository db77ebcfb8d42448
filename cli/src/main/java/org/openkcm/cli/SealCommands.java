package org.openkcm.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.openkcm.protocol.admin.v1.InitSealRequest;
import org.openkcm.protocol.admin.v1.SealRequest;
import org.openkcm.protocol.admin.v1.SealStatusReply;
import org.openkcm.protocol.admin.v1.UnsealRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ./openkcm admin init|unseal|seal|seal-status|migrate-seal}: the master key of the Core's
 * nodes.
 */
final class SealCommands {

  private SealCommands() {}

  @Command(
      name = "init",
      mixinStandardHelpOptions = true,
      description = {
        "Initialise the cluster's seal (mode shamir): generates the master key and prints its N",
        "shares ONCE; any K of them unseal a node. Hand each share to a different operator."
      })
  static final class InitCmd implements Callable<Integer> {
    @Mixin AdminCommand.CoreTarget target;

    @Option(names = "--shares", required = true, description = "N, the number of shares.")
    int shares;

    @Option(
        names = "--threshold",
        required = true,
        description = "K, how many shares unseal a node.")
    int threshold;

    @Option(
        names = "--by",
        defaultValue = "${sys:user.name}",
        description = "Who (default: ${DEFAULT-VALUE}).")
    String by;

    @Override
    public Integer call() {
      return target.callAdmin(
          admin ->
              admin.initSeal(
                  InitSealRequest.newBuilder()
                      .setShares(shares)
                      .setThreshold(threshold)
                      .setRequestedBy(by)
                      .build()),
          r ->
              Map.of(
                  "shares",
                  r.getSharesList(),
                  "threshold",
                  threshold,
                  "sealed",
                  r.getStatus().getSealed(),
                  "warning",
                  "these shares are shown once; store each with a different operator"));
    }
  }

  @Command(
      name = "unseal",
      mixinStandardHelpOptions = true,
      description =
          "Enter one share on this Core node (read from the terminal, not echoed, or one line of stdin);"
              + " it unseals when shares of the threshold's number of distinct operators are in.")
  static final class UnsealCmd implements Callable<Integer> {
    @Mixin AdminCommand.CoreTarget target;

    @Option(
        names = "--by",
        defaultValue = "${sys:user.name}",
        description = "Who (default: ${DEFAULT-VALUE}).")
    String by;

    @Override
    public Integer call() {
      String share = readShare();
      return target.callAdmin(
          admin ->
              admin.unseal(UnsealRequest.newBuilder().setShare(share).setRequestedBy(by).build()),
          SealCommands::sealJson);
    }

    /**
     * The share from the terminal (not echoed) or one line of standard input: never from argv (ps,
     * history).
     */
    private static String readShare() {
      java.io.Console console = System.console();
      if (console != null) {
        char[] typed = console.readPassword("unseal share: ");
        if (typed == null || typed.length == 0) {
          throw new org.openkcm.protocol.error.OpenKcmException(
              org.openkcm.protocol.error.ErrorReason.INVALID_ARGUMENT, "no share entered");
        }
        return new String(typed);
      }
      try {
        String line =
            new java.io.BufferedReader(
                    new java.io.InputStreamReader(
                        System.in, java.nio.charset.StandardCharsets.US_ASCII))
                .readLine();
        if (line == null || line.isBlank()) {
          throw new org.openkcm.protocol.error.OpenKcmException(
              org.openkcm.protocol.error.ErrorReason.INVALID_ARGUMENT,
              "no share on standard input (pipe one line: okcm-share-v1-...)");
        }
        return line.strip();
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
  }

  @Command(
      name = "migrate-seal",
      mixinStandardHelpOptions = true,
      description =
          "One-time, for data written before master-key sealing: seal every tenant's (or one tenant's) "
              + "L2/L3 blobs with the master key. Opens nothing. Only on a Core started with"
              + " openkcm.core.seal.migration = on, and only when a second identity runs it within"
              + " 10 minutes of the first (four eyes).")
  static final class MigrateSealCmd implements Callable<Integer> {
    @Mixin AdminCommand.CoreTarget target;

    @Option(
        names = "--tenant",
        description = "Only this tenant (default: every tenant in the journal).")
    String tenant;

    @Override
    public Integer call() {
      return target.callAdmin(
          admin ->
              admin.migrateSeal(
                  org.openkcm.protocol.admin.v1.MigrateSealRequest.newBuilder()
                      .setTenantId(tenant == null ? "" : tenant)
                      .build()),
          r -> {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("tenants", r.getTenants());
            out.put("migrated", r.getMigratedList());
            out.put("blobsSealed", r.getBlobsSealed());
            if (!r.getAwaitingSecondIdentity().isEmpty()) {
              out.put("awaitingSecondIdentity", r.getAwaitingSecondIdentity());
            }
            return out;
          });
    }
  }

  @Command(
      name = "seal",
      mixinStandardHelpOptions = true,
      description = "Seal this Core node: wipe its master key and every tenant key it holds.")
  static final class SealCmd implements Callable<Integer> {
    @Mixin AdminCommand.CoreTarget target;

    @Option(
        names = "--by",
        defaultValue = "${sys:user.name}",
        description = "Who (default: ${DEFAULT-VALUE}).")
    String by;

    @Override
    public Integer call() {
      return target.callAdmin(
          admin -> admin.seal(SealRequest.newBuilder().setRequestedBy(by).build()),
          SealCommands::sealJson);
    }
  }

  @Command(
      name = "seal-status",
      mixinStandardHelpOptions = true,
      description = "Is this Core node sealed?")
  static final class SealStatusCmd implements Callable<Integer> {
    @Mixin AdminCommand.CoreTarget target;

    @Override
    public Integer call() {
      return target.callAdmin(
          admin -> admin.sealStatus(SealRequest.getDefaultInstance()), SealCommands::sealJson);
    }
  }

  static Map<String, Object> sealJson(SealStatusReply s) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("sealed", s.getSealed());
    out.put("initialised", s.getInitialised());
    out.put("mode", s.getMode());
    out.put("threshold", s.getThreshold());
    out.put("shares", s.getShares());
    out.put("progress", s.getProgress());
    out.put("node", s.getNode());
    return out;
  }

  /** Where the Core is: --core HOST:PORT, else the data dir's endpoints.json. */
}
