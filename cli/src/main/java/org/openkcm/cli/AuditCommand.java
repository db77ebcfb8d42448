package org.openkcm.cli;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.openkcm.node.audit.AuditChain;
import org.openkcm.node.audit.AuditReader;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ./openkcm admin audit verify|export}: the persisted audit trail, read straight from its
 * PostgreSQL database (an auditor needs the database, not a running node, and trusts neither).
 */
@Command(
    name = "audit",
    mixinStandardHelpOptions = true,
    description = "The persisted, hash-chained audit trail (openkcm.audit.trail).",
    subcommands = {AuditCommand.Verify.class, AuditCommand.Export.class})
final class AuditCommand {

  /** Where the trail is. */
  static final class Database {
    @Option(
        names = "--jdbc-url",
        defaultValue = "${env:OPENKCM_AUDIT_JDBC_URL:-jdbc:postgresql://127.0.0.1:5432/test}",
        description = "The trail's database (default: ${DEFAULT-VALUE}).")
    String url;

    @Option(
        names = "--jdbc-user",
        defaultValue = "${env:OPENKCM_AUDIT_JDBC_USER:-postgres}",
        description =
            "Database user (default: ${DEFAULT-VALUE}); the password comes from"
                + " OPENKCM_AUDIT_JDBC_PASSWORD.")
    String user;

    @Option(
        names = "--tenant",
        required = true,
        description = "Whose trail (_node: node-wide records).")
    String tenant;

    AuditReader open() {
      try {
        AuditReader r =
            new AuditReader(
                url, user, System.getenv().getOrDefault("OPENKCM_AUDIT_JDBC_PASSWORD", ""));
        if (!r.exists(tenant)) {
          r.close();
          throw new OpenKcmException(
              ErrorReason.TENANT_NOT_FOUND, "no audit trail of tenant " + tenant + " in " + url);
        }
        return r;
      } catch (SQLException e) {
        throw new OpenKcmException(
            ErrorReason.CORE_UNAVAILABLE, "audit database " + url + ": " + e.getMessage());
      }
    }
  }

  @Command(
      name = "verify",
      mixinStandardHelpOptions = true,
      description = {
        "Recompute the tenant's hash chain and check its signed checkpoints; exit 0 when it holds,",
        "3 with the first record that does not (edited, deleted, inserted or reordered), a",
        "checkpoint missing, signed by a certificate the trust bundle did not issue to a node, or",
        "a record no longer matching an anchor exported earlier."
      })
  static final class Verify implements Callable<Integer> {
    @Mixin Database db;

    @Option(
        names = "--tls-dir",
        description =
            "Directory with the trust bundle (ca.crt): every checkpoint must then be signed by a"
                + " node (core/ or gateway/) it issued. Without it signers are not checked.")
    Path tlsDir;

    @Option(
        names = "--trust-domain",
        defaultValue = "openkcm.local",
        description = "The nodes' trust domain (default: ${DEFAULT-VALUE}).")
    String trustDomain;

    @Option(
        names = "--checkpoint-every",
        defaultValue = "1000",
        description =
            "The trail's openkcm.audit.trail.checkpoint-every: checkpoints further apart mean some"
                + " were deleted (default: ${DEFAULT-VALUE}; 0: not checked).")
    long checkpointEvery;

    @Option(
        names = "--anchor",
        description =
            "Checkpoints exported earlier (admin audit export --checkpoints FILE) and kept outside"
                + " the database: the records they name must still match.")
    Path anchor;

    @Override
    public Integer call() throws Exception {
      if (checkpointEvery < 0) {
        throw new OpenKcmException(
            ErrorReason.INVALID_ARGUMENT, "--checkpoint-every must be 0 or more");
      }
      Optional<AuditChain.Signers> signers = Optional.empty();
      if (tlsDir != null) {
        Path bundle = tlsDir.resolve("ca.crt");
        if (!Files.isRegularFile(bundle)) {
          throw new OpenKcmException(
              ErrorReason.INVALID_ARGUMENT, "no trust bundle at " + bundle + " (--tls-dir)");
        }
        signers =
            Optional.of(org.openkcm.node.audit.CheckpointSigners.fromBundle(bundle, trustDomain));
      }
      java.util.List<AuditChain.Checkpoint> anchors =
          anchor == null ? java.util.List.of() : AuditAnchors.read(anchor);
      try (AuditReader r = db.open()) {
        AuditChain.Verdict v =
            r.verify(db.tenant, new AuditChain.Policy(checkpointEvery, signers, anchors));
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("tenant", db.tenant);
        out.put("records", v.records());
        out.put("checkpoints", v.checkpoints());
        out.put("signedCheckpoints", v.signedCheckpoints());
        out.put("signersChecked", signers.isPresent());
        out.put("anchors", anchors.size());
        out.put("intact", v.ok());
        v.firstProblem().ifPresent(p -> out.put("firstProblem", p));
        Cli.printJson(out);
        return v.ok() ? 0 : 3;
      }
    }
  }

  @Command(
      name = "export",
      mixinStandardHelpOptions = true,
      description = "Write the tenant's records as JSON lines (seq, at, hash, record) for a SIEM.")
  static final class Export implements Callable<Integer> {
    @Mixin Database db;

    @Option(
        names = "--since",
        description =
            "Only records at or after this instant (ISO-8601, e.g. 2026-12-01T00:00:00Z).")
    String since;

    @Option(names = "--out", description = "File to write (default: standard output).")
    Path out;

    @Option(
        names = "--checkpoints",
        description =
            "Also write the tenant's signed checkpoints (seq, hash, signature, certificate) to this"
                + " file, one JSON line each: keep it outside the database and verify --anchor it.")
    Path checkpoints;

    @Override
    public Integer call() throws Exception {
      Optional<Instant> from;
      try {
        from = Optional.ofNullable(since).map(Instant::parse);
      } catch (DateTimeParseException e) {
        throw new OpenKcmException(
            ErrorReason.INVALID_ARGUMENT,
            "--since must be an ISO-8601 instant like 2026-12-01T00:00:00Z");
      }
      try (AuditReader r = db.open();
          Writer w =
              out == null
                  ? new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8))
                  : Files.newBufferedWriter(out, StandardCharsets.UTF_8)) {
        long n =
            r.export(
                db.tenant,
                from,
                line -> {
                  try {
                    w.write(line);
                    w.write('\n');
                  } catch (IOException e) {
                    throw new UncheckedIOException(e);
                  }
                });
        w.flush();
        System.err.println("exported " + n + " records of " + db.tenant);
        if (checkpoints != null) {
          // an anchor must not enshrine tampering already in the database
          AuditChain.Verdict v = r.verify(db.tenant);
          if (!v.ok()) {
            System.err.println(
                "no checkpoints written: the trail does not verify ("
                    + v.firstProblem().get()
                    + ")");
            return 3;
          }
          int k = AuditAnchors.write(r.checkpoints(db.tenant), checkpoints);
          System.err.println(
              "exported " + k + " checkpoints of " + db.tenant + " to " + checkpoints);
        }
        return 0;
      }
    }
  }
}
