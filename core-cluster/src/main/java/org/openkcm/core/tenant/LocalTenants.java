package org.openkcm.core.tenant;

import java.time.Duration;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.ShardRegion.CurrentShardRegionState;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingQuery;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers a message to every tenant entity living on this node (the poison message of kill and
 * seal).
 */
public final class LocalTenants {

  private static final Logger log = LoggerFactory.getLogger(LocalTenants.class);

  private LocalTenants() {}

  public static void tellAll(
      ActorSystem<?> system, TenantEntity.Command message, Duration timeout) {
    ClusterSharding sharding = ClusterSharding.get(system);
    AskPattern.<ClusterShardingQuery, CurrentShardRegionState>ask(
            sharding.shardState(),
            replyTo -> new GetShardRegionState(TenantEntity.ENTITY_KEY, replyTo),
            timeout,
            system.scheduler())
        .whenComplete(
            (state, failure) -> {
              if (failure != null) {
                log.error(
                    "could not list this node's tenants to deliver {}: {}",
                    message,
                    failure.toString());
                return;
              }
              state
                  .getShards()
                  .forEach(
                      shard ->
                          shard
                              .getEntityIds()
                              .forEach(
                                  id ->
                                      sharding
                                          .entityRefFor(TenantEntity.ENTITY_KEY, id)
                                          .tell(message)));
            });
  }
}
