package org.openkcm.core.tenant;

import com.typesafe.config.Config;

/** Settings of tenant entities, read once from {@code openkcm.core.tenant}. */
public record TenantSettings(int maxBatchSize, String shardRole) {

  public static TenantSettings fromConfig(Config config) {
    Config c = config.getConfig("openkcm.core.tenant");
    return new TenantSettings(c.getInt("max-batch-size"), c.getString("shard-role"));
  }
}
