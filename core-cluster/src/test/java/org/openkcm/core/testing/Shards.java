package org.openkcm.core.testing;

import java.time.Duration;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.ShardRegion.ClusterShardingStats;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingQuery;
import org.apache.pekko.cluster.sharding.typed.GetClusterShardingStats;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.openkcm.core.CoreNode;
import org.openkcm.core.tenant.TenantEntity;

/** What a test of a Core cluster asks about its sharding. */
public final class Shards {

  private Shards() {}

  /** How many nodes have registered a tenant shard region, as {@code node} sees the cluster. */
  public static int regions(CoreNode node) {
    ClusterShardingStats stats =
        AskPattern.<ClusterShardingQuery, ClusterShardingStats>ask(
                ClusterSharding.get(node.system()).shardState(),
                replyTo ->
                    new GetClusterShardingStats(
                        TenantEntity.ENTITY_KEY, Duration.ofSeconds(3), replyTo),
                Duration.ofSeconds(5),
                node.system().scheduler())
            .toCompletableFuture()
            .join();
    return stats.getRegions().size();
  }
}
