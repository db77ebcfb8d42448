package org.openkcm.node.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** Audit records are JSON: client-supplied text stays one field's value, whatever it contains. */
class AuditLogTest {

  @Test
  void aForgedReasonCannotAddOrChangeFields() throws Exception {
    String forged =
        "drill\" by=\"spiffe://x/admin/ceo\",\"outcome\":\"ok\"}\n12:00 INFO audit - {\"event\":\"tenant.revive";
    String line =
        AuditLog.json(
            "tenant.kill",
            "tenant",
            "acme",
            "by",
            "spiffe://openkcm.local/admin/so",
            "reason",
            forged,
            "cid",
            "c-1");
    assertFalse(line.contains("\n"), "one line");
    JsonNode record = new ObjectMapper().readTree(line);
    assertEquals("tenant.kill", record.get("event").asText());
    assertEquals("spiffe://openkcm.local/admin/so", record.get("by").asText());
    assertEquals(forged, record.get("reason").asText(), "the reason is data, exactly as given");
    assertTrue(record.path("outcome").isMissingNode(), "no field smuggled in");
    assertEquals(5, record.size());
  }

  @Test
  void numbersBooleansAndEnumsKeepTheirType() throws Exception {
    JsonNode r =
        new ObjectMapper()
            .readTree(
                AuditLog.json(
                    "seal.share",
                    "index",
                    2,
                    "cached",
                    true,
                    "reason",
                    java.time.DayOfWeek.MONDAY));
    assertTrue(r.get("index").isInt());
    assertTrue(r.get("cached").isBoolean());
    assertEquals("MONDAY", r.get("reason").asText());
  }

  @Test
  void aRepeatedNameIsOneFieldWithTheLaterValue() throws Exception {
    JsonNode r =
        new ObjectMapper()
            .readTree(AuditLog.json("keys.wrap", "tenant", "acme", "count", 1, "tenant", "evil"));
    assertEquals(3, r.size());
    assertEquals("evil", r.get("tenant").asText());
    JsonNode e = new ObjectMapper().readTree(AuditLog.json("keys.wrap", "event", "other"));
    assertEquals(1, e.size());
    assertEquals("other", e.get("event").asText());
  }

  @Test
  void aSuppliedValueIsAskedWhenTheRecordIsMade() throws Exception {
    JsonNode r =
        new ObjectMapper()
            .readTree(
                AuditLog.json(
                    "keys.wrap",
                    "caller",
                    (java.util.function.Supplier<String>) () -> "spiffe://x/gateway/g",
                    "n",
                    (java.util.function.Supplier<Integer>) () -> 3));
    assertEquals("spiffe://x/gateway/g", r.get("caller").asText());
    assertTrue(r.get("n").isInt());
  }
}
