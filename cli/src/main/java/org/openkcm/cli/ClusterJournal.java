package org.openkcm.cli;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.openkcm.node.sql.SerializedDdl;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;

/**
 * The journal of one {@code cluster up} cluster: a PostgreSQL schema that belongs to one data dir.
 * Its blobs are sealed with the master key whose development L1 lives in that data dir, so a
 * cluster started from another data dir on the same schema could never open them (it died at start
 * with "dev keystore key 'openkcm-master' cannot open this blob"). Without {@code --jdbc-url} each
 * data dir gets a schema of its own; a schema named explicitly is claimed by the first data dir
 * that uses it, and another data dir is refused at once with the options that fix it.
 */
final class ClusterJournal {

  static final String DEFAULT_URL = "jdbc:postgresql://127.0.0.1:5432/test";
  private static final Pattern SCHEMA =
      Pattern.compile("[?&]currentSchema=([A-Za-z_][A-Za-z0-9_]*)");

  private ClusterJournal() {}

  /** The journal URL of the cluster in {@code dataDir} when no {@code --jdbc-url} is given. */
  static String defaultUrl(Path dataDir) {
    return DEFAULT_URL + "?currentSchema=openkcm_cluster_" + digest(dataDir).substring(0, 12);
  }

  /**
   * Claims the schema of {@code url} for {@code dataDir}: records it on first use; returns when it
   * is this data dir's; refuses (INVALID_ARGUMENT, naming the owner and the fix) otherwise.
   */
  static void claim(String url, Path dataDir, String user, String password) {
    Matcher m = SCHEMA.matcher(url);
    if (!m.find()) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT,
          "--jdbc-url must name the cluster's own schema (…?currentSchema=NAME), was "
              + url.replaceAll("password=[^&]*", "password=***"));
    }
    String schema = m.group(1);
    String dir = dataDir.toAbsolutePath().normalize().toString();
    Optional<String> owner;
    try (Connection c = DriverManager.getConnection(url, user, password)) {
      String[] found = new String[1];
      SerializedDdl.run(
          c,
          schema,
          tx -> {
            try (Statement st = tx.createStatement()) {
              st.execute("CREATE SCHEMA IF NOT EXISTS " + schema);
              st.execute(
                  "CREATE TABLE IF NOT EXISTS "
                      + schema
                      + ".openkcm_cluster_owner (data_dir text PRIMARY KEY, since timestamptz"
                      + " NOT NULL DEFAULT now())");
              try (ResultSet rs =
                  st.executeQuery("SELECT data_dir FROM " + schema + ".openkcm_cluster_owner")) {
                found[0] = rs.next() ? rs.getString(1) : null;
              }
              if (found[0] == null) {
                try (PreparedStatement ps =
                    tx.prepareStatement(
                        "INSERT INTO " + schema + ".openkcm_cluster_owner (data_dir) VALUES (?)")) {
                  ps.setString(1, dir);
                  ps.executeUpdate();
                }
              }
            }
          });
      owner = Optional.ofNullable(found[0]);
    } catch (SQLException e) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT,
          "cannot reach the journal database at "
              + url.replaceAll("password=[^&]*", "password=***")
              + ": "
              + e.getMessage());
    }
    if (owner.isPresent() && !owner.get().equals(dir)) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT,
          "the journal schema "
              + schema
              + " holds the cluster of --data-dir "
              + owner.get()
              + " (its keys are sealed under that data dir's development L1); start that one"
              + " (./openkcm cluster up --data-dir "
              + owner.get()
              + " --jdbc-url '"
              + url
              + "') or give this data dir its own schema (leave out --jdbc-url, or"
              + " …?currentSchema=another_name)");
    }
  }

  private static String digest(Path dataDir) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256")
                  .digest(
                      dataDir
                          .toAbsolutePath()
                          .normalize()
                          .toString()
                          .getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
