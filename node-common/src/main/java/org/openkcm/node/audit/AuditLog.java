package org.openkcm.node.audit;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit trail: one JSON object per record on the logger {@code org.openkcm.audit}, e.g. {@code
 * {"event":"tenant.kill","tenant":"acme","by":"spiffe://…/admin/so","reason":"…","cid":"…"}}. Every
 * value is a JSON string, number or boolean written by Jackson, so client-supplied text (a kill
 * reason, a correlation id) can never add or change a field, and a reader parses records instead of
 * guessing. Registered {@link AuditSink}s (the persisted, hash-chained trail) get every record too.
 */
public final class AuditLog {

  public static final String LOGGER = "org.openkcm.audit";
  private static final Logger AUDIT = LoggerFactory.getLogger(LOGGER);
  private static final ObjectMapper JSON = new ObjectMapper();

  private static final java.util.List<AuditSink> SINKS =
      new java.util.concurrent.CopyOnWriteArrayList<>();

  private AuditLog() {}

  /**
   * Also hands every record to {@code sink} (the persisted trail) until the returned handle is
   * closed; closing it waits until the records made before have reached the sink.
   */
  public static AutoCloseable addSink(AuditSink sink) {
    SINKS.add(sink);
    return () -> {
      flushDeferred(java.time.Duration.ofSeconds(10));
      SINKS.remove(sink);
    };
  }

  /**
   * Records {@code event} with {@code fields} given as name, value, name, value, … (a value may be
   * a {@link java.util.function.Supplier}, asked when the record is made): the log line now, the
   * sinks on the audit thread (see {@link DeferredRecords}).
   */
  public static void record(String event, Object... fields) {
    if (AUDIT.isInfoEnabled() || !SINKS.isEmpty()) {
      AuditSink.Entry made = make(event, fields, Instant.now());
      if (made != null) {
        Deferral.QUEUE.offer(new DeferredRecords.Deferred(event, null, made.at(), made));
      }
    }
  }

  /**
   * Like {@link #record}, but the record is made off the calling thread, in batches, a few
   * milliseconds later (see {@link DeferredRecords}): for records on a key request's path. The
   * record keeps this instant; {@link #flushDeferred} waits for it.
   */
  public static void recordLater(String event, Object... fields) {
    if (fields.length % 2 != 0) {
      throw new IllegalArgumentException("audit fields come in name/value pairs");
    }
    if (AUDIT.isInfoEnabled() || !SINKS.isEmpty()) {
      Deferral.QUEUE.offer(new DeferredRecords.Deferred(event, fields, Instant.now(), null));
    }
  }

  /**
   * Waits (at most {@code timeout}) until every record so far has reached the sinks (and, for the
   * persisted trail, is committed).
   */
  public static void flushDeferred(java.time.Duration timeout) {
    if (deferralStarted) {
      Deferral.QUEUE.flush(timeout);
    }
  }

  /** Records waiting for the audit thread (to be made, or written by the sinks). */
  public static int backlog() {
    return deferralStarted ? Deferral.QUEUE.backlog() : 0;
  }

  private static final java.util.concurrent.atomic.AtomicLong SHED =
      new java.util.concurrent.atomic.AtomicLong();

  /**
   * Whether a new request may be admitted: not while the audit queue is past its capacity (its
   * records could only wait in memory). A refused request is counted ({@link #shed}).
   */
  public static boolean admitting() {
    if (deferralStarted && Deferral.QUEUE.overCapacity()) {
      SHED.incrementAndGet();
      return false;
    }
    return true;
  }

  /** Requests refused since this JVM started because the audit queue was past its capacity. */
  public static long shed() {
    return SHED.get();
  }

  /** The audit queue and thread, started on first use. */
  private static volatile boolean deferralStarted;

  private static final class Deferral {
    static final DeferredRecords QUEUE =
        new DeferredRecords(
            d -> make(d.event(), d.fields(), d.at()), AuditLog::deliver, DeferredRecords.CAPACITY);

    static {
      deferralStarted = true;
    }
  }

  /** Hands a batch to every sink (on the audit thread); one sink's failure spares the others. */
  private static void deliver(List<AuditSink.Entry> batch) {
    for (AuditSink s : SINKS) {
      try {
        s.acceptAll(batch);
      } catch (RuntimeException e) {
        AUDIT.error("audit sink {} failed on {} records: {}", s, batch.size(), e.toString());
      }
    }
  }

  /** Makes the JSON and the log line; the entry for the sinks, or null when there are none. */
  private static AuditSink.Entry make(String event, Object[] given, Instant at) {
    Object[] fields = resolved(given); // each Supplier asked once, whatever reads its field
    String json = json(event, fields);
    if (AUDIT.isInfoEnabled()) {
      // JSON log lines (OPENKCM_LOG_FORMAT=json) carry the event and correlation id as fields of
      // their own (key-value pairs of the log event; text lines show only the message)
      org.slf4j.spi.LoggingEventBuilder line = AUDIT.atInfo().addKeyValue("event", event);
      for (int i = 0; i + 1 < fields.length; i += 2) {
        if ("cid".equals(fields[i])) {
          if (fields[i + 1] != null) {
            line = line.addKeyValue("cid", fields[i + 1].toString());
          }
          break;
        }
      }
      line.log(json);
    }
    if (SINKS.isEmpty()) {
      return null;
    }
    String tenant = null;
    for (int i = 0; i + 1 < fields.length; i += 2) {
      if ("tenant".equals(fields[i]) && fields[i + 1] != null) {
        tenant = fields[i + 1].toString();
        break;
      }
    }
    return new AuditSink.Entry(tenant, event, json, at);
  }

  /** The JSON text of a record (what {@link #record} logs). */
  public static String json(String event, Object... fields) {
    if (fields.length % 2 != 0) {
      throw new IllegalArgumentException("audit fields come in name/value pairs");
    }
    if (repeatsAName(fields)) {
      return jsonOfMap(event, fields); // a later value replaces an earlier one, in its place
    }
    // Written field by field (no map, no serializer lookup): this runs once per key request.
    java.io.StringWriter out = new java.io.StringWriter(64 + 32 * fields.length);
    try (JsonGenerator g = JSON.getFactory().createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("event", event);
      for (int i = 0; i < fields.length; i += 2) {
        String name = String.valueOf(fields[i]);
        Object v = valueOf(fields[i + 1]);
        if (v == null) {
          g.writeNullField(name);
        } else if (v instanceof Integer || v instanceof Long || v instanceof Short) {
          g.writeNumberField(name, ((Number) v).longValue());
        } else if (v instanceof Number || v instanceof Boolean) {
          g.writeObjectField(name, v);
        } else {
          g.writeStringField(name, v instanceof Enum<?> e ? e.name() : v.toString());
        }
      }
      g.writeEndObject();
    } catch (java.io.IOException e) {
      throw new IllegalStateException("audit record not serialisable: " + e.getMessage(), e);
    }
    return out.toString();
  }

  /**
   * A field's value; a {@link java.util.function.Supplier} is asked when the record is made (for
   * {@link #recordLater}: work that need not be done on the caller's thread).
   */
  private static Object valueOf(Object v) {
    return v instanceof java.util.function.Supplier<?> s ? s.get() : v;
  }

  private static Object[] resolved(Object[] fields) {
    Object[] out = fields;
    for (int i = 1; i < fields.length; i += 2) {
      if (fields[i] instanceof java.util.function.Supplier<?>) {
        if (out == fields) {
          out = fields.clone();
        }
        out[i] = valueOf(fields[i]);
      }
    }
    return out;
  }

  private static boolean repeatsAName(Object[] fields) {
    for (int i = 0; i < fields.length; i += 2) {
      if ("event".equals(fields[i])) {
        return true;
      }
      for (int j = i + 2; j < fields.length; j += 2) {
        if (String.valueOf(fields[i]).equals(String.valueOf(fields[j]))) {
          return true;
        }
      }
    }
    return false;
  }

  private static String jsonOfMap(String event, Object... fields) {
    Map<String, Object> record = new LinkedHashMap<>();
    record.put("event", event);
    for (int i = 0; i < fields.length; i += 2) {
      Object v = valueOf(fields[i + 1]);
      record.put(
          String.valueOf(fields[i]),
          v == null || v instanceof Number || v instanceof Boolean
              ? v
              : v instanceof Enum<?> e ? e.name() : v.toString());
    }
    try {
      return JSON.writeValueAsString(record);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(
          "audit record not serialisable: " + e.getOriginalMessage(), e);
    }
  }
}
