package org.openkcm.kmip.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.kmip.server.Requests.aes256;
import static org.openkcm.kmip.server.Requests.op;
import static org.openkcm.kmip.server.Requests.request;
import static org.openkcm.kmip.server.Requests.uid;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.openkcm.kmip.message.Items;
import org.openkcm.kmip.message.KmipException;
import org.openkcm.kmip.message.ObjectType;
import org.openkcm.kmip.message.Operation;
import org.openkcm.kmip.message.ProtocolVersion;
import org.openkcm.kmip.message.ResultReason;
import org.openkcm.kmip.ttlv.Item;
import org.openkcm.kmip.ttlv.Tag;
import org.openkcm.kmip.ttlv.TtlvCodec;

/** Batches, the ID placeholder, state rules, ownership and failures, through encoded messages. */
class KmipEngineTest {

  private static final Owner ACME = new Owner("acme", "billing");
  private static final Owner GLOBEX = new Owner("globex", "billing");
  private static final ProtocolVersion V14 = new ProtocolVersion(1, 4);

  private final TestProtector protector = new TestProtector();
  private final ObjectStore store = new InMemoryObjectStore();
  private final KmipEngine engine =
      new KmipEngine(
          store,
          protector,
          (owner, op) -> {
            if (op == Operation.DESTROY && owner.service().equals("read-only")) {
              throw new KmipException(ResultReason.PERMISSION_DENIED, "policy");
            }
          },
          new SecureRandom(),
          Clock.fixed(Instant.parse("2026-12-01T10:00:00Z"), ZoneOffset.UTC),
          8,
          TtlvCodec.Limits.DEFAULT);

  private List<Item.Struct> items(Owner owner, Item.Struct request) {
    Item.Struct response =
        (Item.Struct)
            TtlvCodec.decode(
                engine.answer(owner, TtlvCodec.encode(request)), TtlvCodec.Limits.DEFAULT);
    assertEquals(Tag.RESPONSE_MESSAGE.code, response.tag());
    return response.all(Tag.BATCH_ITEM).stream().map(i -> (Item.Struct) i).toList();
  }

  private static int status(Item.Struct item) {
    return Items.enumeration(item, Tag.RESULT_STATUS);
  }

  private static int reason(Item.Struct item) {
    return Items.enumeration(item, Tag.RESULT_REASON);
  }

  private static Item.Struct payload(Item.Struct item) {
    return Items.requiredStruct(item, Tag.RESPONSE_PAYLOAD);
  }

  private static Item objectType() {
    return new Item.Enumeration(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY.code);
  }

  @Test
  void aBatchUsesTheIdPlaceholder() {
    List<Item.Struct> answers =
        items(
            ACME,
            request(
                V14,
                op(Operation.CREATE, objectType(), aes256("k1")),
                op(Operation.ACTIVATE),
                op(Operation.GET),
                op(Operation.GET_ATTRIBUTES, new Item.Text(Tag.ATTRIBUTE_NAME, "State"))));
    assertEquals(4, answers.size());
    answers.forEach(a -> assertEquals(0, status(a), a.toString()));
    String uid = Items.optText(payload(answers.get(0)), Tag.UNIQUE_IDENTIFIER).orElseThrow();
    assertEquals(uid, Items.optText(payload(answers.get(2)), Tag.UNIQUE_IDENTIFIER).orElseThrow());
    assertTrue(answers.get(3).toString().contains("Enumeration[tag=4325387, value=2]"), "Active");
  }

  @Test
  void aFailedItemStopsTheRestUnlessToldToContinue() {
    List<Item.Struct> answers =
        items(
            ACME,
            request(
                V14,
                op(Operation.GET, uid("nope")),
                op(Operation.CREATE, objectType(), aes256("k2"))));
    assertEquals(1, status(answers.get(0)));
    assertEquals(ResultReason.ITEM_NOT_FOUND.code, reason(answers.get(0)));
    assertEquals(3, status(answers.get(1)), "not run (Operation Undone)");
    assertTrue(store.list(ACME).isEmpty(), "nothing created after the failure");
  }

  @Test
  void anotherOwnerSeesNothing() {
    String uid = create(ACME, "shared-name");
    Item.Struct refused = items(GLOBEX, request(V14, op(Operation.GET, uid(uid)))).get(0);
    assertEquals(ResultReason.ITEM_NOT_FOUND.code, reason(refused));
    Item.Struct located = items(GLOBEX, request(V14, op(Operation.LOCATE))).get(0);
    assertEquals(0, Items.integer(payload(located), Tag.LOCATED_ITEMS));
    assertEquals(
        uid, create(GLOBEX, "shared-name").length() == 32 ? uid : "", "names are per owner");
  }

  @Test
  void namesAreUniqueAndStatesEnforced() {
    String uid = create(ACME, "unique");
    Item.Struct again =
        items(ACME, request(V14, op(Operation.CREATE, objectType(), aes256("unique")))).get(0);
    assertEquals(ResultReason.INVALID_FIELD.code, reason(again));
    assertTrue(Items.optText(again, Tag.RESULT_MESSAGE).orElse("").contains(uid));
    items(ACME, request(V14, op(Operation.ACTIVATE, uid(uid))));
    Item.Struct destroyActive = items(ACME, request(V14, op(Operation.DESTROY, uid(uid)))).get(0);
    assertEquals(ResultReason.ILLEGAL_OPERATION.code, reason(destroyActive));
    Item.Struct twice = items(ACME, request(V14, op(Operation.ACTIVATE, uid(uid)))).get(0);
    assertEquals(ResultReason.ILLEGAL_OPERATION.code, reason(twice));
  }

  @Test
  void theGateAndTheProtectorRefuse() {
    Owner readOnly = new Owner("acme", "read-only");
    String uid = create(readOnly, "ro");
    Item.Struct denied = items(readOnly, request(V14, op(Operation.DESTROY, uid(uid)))).get(0);
    assertEquals(ResultReason.PERMISSION_DENIED.code, reason(denied));
    protector.refusedTenants.add("acme");
    Item.Struct killed = items(ACME, request(V14, op(Operation.LOCATE))).get(0);
    assertEquals(ResultReason.PERMISSION_DENIED.code, reason(killed));
    assertTrue(Items.optText(killed, Tag.RESULT_MESSAGE).orElse("").contains("TENANT_KILLED"));
    Item.Struct discover = items(ACME, request(V14, op(Operation.DISCOVER_VERSIONS))).get(0);
    assertEquals(0, status(discover), "Discover Versions needs no key chain");
  }

  @Test
  void badMessagesGetKmipErrors() {
    Item.Struct tooMany =
        request(
            V14,
            op(Operation.QUERY),
            op(Operation.QUERY),
            op(Operation.QUERY),
            op(Operation.QUERY),
            op(Operation.QUERY),
            op(Operation.QUERY),
            op(Operation.QUERY),
            op(Operation.QUERY),
            op(Operation.QUERY));
    assertEquals(ResultReason.INVALID_MESSAGE.code, reason(items(ACME, tooMany).get(0)));
    Item.Struct unknownVersion = request(new ProtocolVersion(3, 0), op(Operation.QUERY));
    assertEquals(
        ResultReason.UNSUPPORTED_PROTOCOL_VERSION.code, reason(items(ACME, unknownVersion).get(0)));
    Item.Struct notSupported = request(V14, op(Operation.CREATE_KEY_PAIR));
    assertEquals(
        ResultReason.OPERATION_NOT_SUPPORTED.code, reason(items(ACME, notSupported).get(0)));
    byte[] garbage = TtlvCodec.encode(new Item.Struct(Tag.REQUEST_MESSAGE, List.of()));
    garbage[garbage.length - 1] = 1;
    Item.Struct answer =
        (Item.Struct) TtlvCodec.decode(engine.answer(ACME, garbage), TtlvCodec.Limits.DEFAULT);
    assertEquals(
        ResultReason.INVALID_MESSAGE.code, reason((Item.Struct) answer.all(Tag.BATCH_ITEM).get(0)));
  }

  @Test
  void aLargeAnswerRespectsMaximumResponseSize() {
    for (int i = 0; i < 20; i++) {
      create(ACME, "many-" + i);
    }
    Item.Struct locate = request(V14, op(Operation.LOCATE));
    Item.Struct header = (Item.Struct) locate.items().get(0);
    Item.Struct limited =
        new Item.Struct(
            Tag.REQUEST_MESSAGE,
            List.of(
                new Item.Struct(
                    Tag.REQUEST_HEADER,
                    List.of(
                        header.items().get(0),
                        new Item.Int(Tag.MAXIMUM_RESPONSE_SIZE, 200),
                        header.items().get(1))),
                locate.items().get(1)));
    assertEquals(ResultReason.RESPONSE_TOO_LARGE.code, reason(items(ACME, limited).get(0)));
  }

  private String create(Owner owner, String name) {
    Item.Struct a =
        items(owner, request(V14, op(Operation.CREATE, objectType(), aes256(name)))).get(0);
    assertEquals(0, status(a), a.toString());
    return Items.optText(payload(a), Tag.UNIQUE_IDENTIFIER).orElseThrow();
  }
}
