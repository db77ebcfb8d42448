package org.openkcm.kmip.message;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.openkcm.kmip.ttlv.Item;
import org.openkcm.kmip.ttlv.Tag;

/** Builds a Response Message: a header and one answer per batch item, in request order. */
public final class ResponseMessage {

  /** The answer to one batch item. */
  public sealed interface Answer permits Success, Failure {}

  public record Success(int operationCode, Optional<byte[]> batchItemId, Item.Struct payload)
      implements Answer {}

  public record Failure(
      Optional<Integer> operationCode,
      Optional<byte[]> batchItemId,
      int resultStatus,
      ResultReason reason,
      String message)
      implements Answer {
    public static Failure of(RequestMessage.BatchItem item, KmipException e) {
      return new Failure(
          Optional.of(item.operationCode()),
          item.batchItemId(),
          FAILED,
          e.reason(),
          e.getMessage());
    }

    /** Not run because an earlier item failed with Stop or Undo. */
    public static Failure notRun(RequestMessage.BatchItem item) {
      return new Failure(
          Optional.of(item.operationCode()),
          item.batchItemId(),
          UNDONE,
          ResultReason.GENERAL_FAILURE,
          "not run: an earlier item of the batch failed");
    }
  }

  private static final int SUCCESS = 0;
  private static final int FAILED = 1;
  private static final int UNDONE = 3;

  private ResponseMessage() {}

  public static Item.Struct of(ProtocolVersion version, List<Answer> answers, Instant now) {
    List<Item> items = new ArrayList<>();
    items.add(
        new Item.Struct(
            Tag.RESPONSE_HEADER,
            List.of(
                version.toItem(),
                new Item.DateTime(Tag.TIME_STAMP, now.getEpochSecond()),
                new Item.Int(Tag.BATCH_COUNT, answers.size()))));
    for (Answer a : answers) {
      items.add(batchItem(a));
    }
    return new Item.Struct(Tag.RESPONSE_MESSAGE, items);
  }

  /** A whole message failing before any item could be read (one failed item, no operation). */
  public static Item.Struct failure(ProtocolVersion version, KmipException e, Instant now) {
    return of(
        version,
        List.of(
            new Failure(Optional.empty(), Optional.empty(), FAILED, e.reason(), e.getMessage())),
        now);
  }

  private static Item.Struct batchItem(Answer a) {
    List<Item> out = new ArrayList<>();
    if (a instanceof Success s) {
      out.add(new Item.Enumeration(Tag.OPERATION, s.operationCode()));
      s.batchItemId().ifPresent(id -> out.add(new Item.Bytes(Tag.UNIQUE_BATCH_ITEM_ID, id)));
      out.add(new Item.Enumeration(Tag.RESULT_STATUS, SUCCESS));
      out.add(new Item.Struct(Tag.RESPONSE_PAYLOAD, s.payload().items()));
    } else {
      Failure f = (Failure) a;
      f.operationCode().ifPresent(op -> out.add(new Item.Enumeration(Tag.OPERATION, op)));
      f.batchItemId().ifPresent(id -> out.add(new Item.Bytes(Tag.UNIQUE_BATCH_ITEM_ID, id)));
      out.add(new Item.Enumeration(Tag.RESULT_STATUS, f.resultStatus()));
      out.add(new Item.Enumeration(Tag.RESULT_REASON, f.reason().code));
      out.add(new Item.Text(Tag.RESULT_MESSAGE, f.message()));
    }
    return new Item.Struct(Tag.BATCH_ITEM, out);
  }
}
