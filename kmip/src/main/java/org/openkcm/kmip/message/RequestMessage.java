package org.openkcm.kmip.message;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.openkcm.kmip.ttlv.Item;
import org.openkcm.kmip.ttlv.Tag;

/**
 * A decoded Request Message: the header fields the server uses and its batch items. A message whose
 * header cannot be read fails as a whole (Invalid Message); a batch item with an unknown operation
 * fails on its own.
 */
public record RequestMessage(
    ProtocolVersion version,
    Optional<Integer> maximumResponseSize,
    boolean stopOnError,
    List<BatchItem> items) {

  /** What Batch Error Continuation Option says when a batch item fails. */
  private static final int CONTINUE = 2;

  private static final int UNDO = 3;

  /** One operation of the batch, with its payload (an empty structure when absent). */
  public record BatchItem(int operationCode, Optional<byte[]> batchItemId, Item.Struct payload) {
    public Optional<Operation> operation() {
      return Operation.of(operationCode);
    }
  }

  public static RequestMessage from(Item root, int maxBatchItems) {
    if (root.tag() != Tag.REQUEST_MESSAGE.code || !(root instanceof Item.Struct message)) {
      throw new KmipException(ResultReason.INVALID_MESSAGE, "not a Request Message");
    }
    Item.Struct header = Items.requiredStruct(message, Tag.REQUEST_HEADER);
    ProtocolVersion version =
        ProtocolVersion.from(Items.requiredStruct(header, Tag.PROTOCOL_VERSION));
    Optional<Integer> maxSize = Items.optInteger(header, Tag.MAXIMUM_RESPONSE_SIZE);
    int continuation = Items.optEnum(header, Tag.BATCH_ERROR_CONTINUATION_OPTION).orElse(1);
    if (continuation == UNDO) {
      throw new KmipException(
          ResultReason.FEATURE_NOT_SUPPORTED,
          "Batch Error Continuation Option Undo is not supported");
    }
    int count = Items.integer(header, Tag.BATCH_COUNT);
    List<Item> raw = message.all(Tag.BATCH_ITEM);
    if (count != raw.size()) {
      throw new KmipException(
          ResultReason.INVALID_MESSAGE,
          "Batch Count says " + count + " but the message has " + raw.size() + " batch items");
    }
    if (count < 1 || count > maxBatchItems) {
      throw new KmipException(
          ResultReason.INVALID_MESSAGE,
          "a request has 1 to " + maxBatchItems + " batch items, this one " + count);
    }
    List<BatchItem> items = new ArrayList<>(count);
    for (Item i : raw) {
      Item.Struct s = Items.struct(i, "Batch Item");
      Optional<byte[]> id = Items.optBytes(s, Tag.UNIQUE_BATCH_ITEM_ID);
      if (count > 1 && id.isEmpty()) {
        throw new KmipException(
            ResultReason.INVALID_MESSAGE, "each item of a batch needs a Unique Batch Item ID");
      }
      items.add(
          new BatchItem(
              Items.enumeration(s, Tag.OPERATION),
              id,
              Items.optStruct(s, Tag.REQUEST_PAYLOAD)
                  .orElse(new Item.Struct(Tag.REQUEST_PAYLOAD, List.of()))));
    }
    return new RequestMessage(version, maxSize, continuation != CONTINUE, List.copyOf(items));
  }

  /** The Maximum Response Size of a request whose header could be read. */
  public static Optional<Integer> maximumResponseSizeOf(Item root) {
    try {
      if (root instanceof Item.Struct m) {
        return Items.optInteger(
            Items.requiredStruct(m, Tag.REQUEST_HEADER), Tag.MAXIMUM_RESPONSE_SIZE);
      }
    } catch (KmipException e) {
      // no limit to apply
    }
    return Optional.empty();
  }

  /** The protocol version of a request whose header could be read, for answering it. */
  public static Optional<ProtocolVersion> versionOf(Item root) {
    try {
      if (root instanceof Item.Struct m) {
        return Optional.of(
            ProtocolVersion.from(
                Items.requiredStruct(
                    Items.requiredStruct(m, Tag.REQUEST_HEADER), Tag.PROTOCOL_VERSION)));
      }
    } catch (KmipException e) {
      // answered with the default version
    }
    return Optional.empty();
  }
}
