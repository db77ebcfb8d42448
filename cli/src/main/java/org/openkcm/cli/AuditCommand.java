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
        "3 with the first record that does not (edited, deleted, inserted or reordered)."
      })
  static final class Verify implements Callable<Integer> {
    @Mixin Database db;

    @Override
    public Integer call() throws SQLException {
      try (AuditReader r = db.open()) {
        AuditChain.Verdict v = r.verify(db.tenant);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("tenant", db.tenant);
        out.put("records", v.records());
        out.put("checkpoints", v.checkpoints());
        out.put("signedCheckpoints", v.signedCheckpoints());
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
        return 0;
      }
    }
  }
}
