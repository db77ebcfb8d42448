package org.openkcm.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.GrpcErrors;
import org.openkcm.protocol.error.OpenKcmException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code ./openkcm}: the command-line front door. Output is one JSON line on stdout; failures are
 * one line {@code error: REASON: message} on stderr with exit code 1 (2 for usage errors).
 */
@Command(
    name = "openkcm",
    mixinStandardHelpOptions = true,
    version = "OpenKCM 0.1.0-SNAPSHOT",
    description = "Open Key Chain Manager: customer-owned key chains for SaaS platforms.",
    subcommands = {
      DemoCommand.class,
      NodeCommands.Core.class,
      NodeCommands.Gateway.class,
      DataKeyCommand.class,
      KeyCommand.class,
      AdminCommand.class,
      PkiCommand.class,
      BenchCommand.class,
      ClusterCommand.class
    })
public final class Cli {

  private static final ObjectMapper JSON = new ObjectMapper();

  public static void main(String[] args) {
    org.slf4j.LoggerFactory.getILoggerFactory(); // initialise logging before any thread logs
    System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
  }

  /** Runs one command line; answers the exit code. */
  public static int run(String[] args, PrintWriter out, PrintWriter err) {
    CommandLine cli = new CommandLine(new Cli());
    cli.setOut(out);
    cli.setErr(err);
    cli.setExecutionExceptionHandler(
        (e, commandLine, parsed) -> {
          OpenKcmException failure = GrpcErrors.fromGrpc(e);
          String hint =
              failure.reason() == ErrorReason.CORE_UNAVAILABLE
                      && String.valueOf(failure.getMessage())
                          .contains("Network closed for unknown reason")
                  ? " (the server closed the connection: it may require mutual TLS; pass --tls-dir DIR holding cli.crt,"
                      + " cli.key and ca.crt, or --data-dir of the running demo)"
                  : "";
          commandLine.getErr().println("error: " + failure.oneLine() + hint);
          return 1;
        });
    OUT.set(out);
    try {
      return cli.execute(args);
    } finally {
      OUT.remove();
    }
  }

  private static final ThreadLocal<PrintWriter> OUT = new ThreadLocal<>();

  static void printJson(Object value) {
    try {
      PrintWriter out = OUT.get() != null ? OUT.get() : new PrintWriter(System.out, true);
      out.println(JSON.writeValueAsString(value));
      out.flush();
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  static <T> T await(CompletionStage<T> stage, Duration timeout) {
    try {
      return stage.toCompletableFuture().get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new OpenKcmException(ErrorReason.TIMEOUT, "interrupted");
    } catch (Exception e) {
      throw GrpcErrors.fromGrpc(e);
    }
  }

  static Duration parseDuration(String text) {
    try {
      return com.typesafe.config.ConfigFactory.parseString("d = " + text).getDuration("d");
    } catch (RuntimeException e) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT, "not a duration: '" + text + "' (e.g. 500ms, 15s)");
    }
  }
}
