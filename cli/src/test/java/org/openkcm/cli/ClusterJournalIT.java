package org.openkcm.cli;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.DriverManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;

/**
 * {@code cluster up} keeps each cluster's journal apart: a data dir of its own gets a schema of its
 * own, and a schema named explicitly refuses a second data dir at once, saying how to fix it
 * (before, the second cluster's Cores died at start: its master key could not open the first's
 * blobs). On the real PostgreSQL.
 */
class ClusterJournalIT {

  private final String schema = "openkcm_cj_it_" + Long.toHexString(System.nanoTime());

  @AfterEach
  void drop() throws Exception {
    try (var c = DriverManager.getConnection(ClusterJournal.DEFAULT_URL, "postgres", "");
        var st = c.createStatement()) {
      st.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
    }
  }

  @Test
  void eachDataDirHasItsOwnJournalAndAnotherDataDirIsRefusedOnAClaimedOne() {
    Path first = Path.of("/tmp/openkcm-cluster-a");
    Path second = Path.of("/tmp/openkcm-cluster-b");
    assertNotEquals(ClusterJournal.defaultUrl(first), ClusterJournal.defaultUrl(second));
    assertEquals(
        ClusterJournal.defaultUrl(first),
        ClusterJournal.defaultUrl(Path.of("/tmp/./openkcm-cluster-a")),
        "one data dir, one schema");

    String url = ClusterJournal.DEFAULT_URL + "?currentSchema=" + schema;
    ClusterJournal.claim(url, first, "postgres", "");
    assertDoesNotThrow(() -> ClusterJournal.claim(url, first, "postgres", ""), "up again");
    OpenKcmException e =
        assertThrows(
            OpenKcmException.class, () -> ClusterJournal.claim(url, second, "postgres", ""));
    assertEquals(ErrorReason.INVALID_ARGUMENT, e.reason());
    assertTrue(e.getMessage().contains("--data-dir " + first), e.getMessage());
    assertTrue(e.getMessage().contains("leave out --jdbc-url"), e.getMessage());
    OpenKcmException noSchema =
        assertThrows(
            OpenKcmException.class,
            () -> ClusterJournal.claim(ClusterJournal.DEFAULT_URL, first, "postgres", ""));
    assertTrue(noSchema.getMessage().contains("currentSchema"), noSchema.getMessage());
  }
}
