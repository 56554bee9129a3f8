import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { startCluster } from './cluster.js';
import type { Cluster, ClusterOptions } from './cluster.js';
import { natsUnavailable } from './nats.js';
import { postgresUnavailable } from './postgres.js';
import { skipReason } from './processes.js';

/**
 * A `describe` whose tests share one cluster (see `startCluster`), skipped where PostgreSQL or
 * nats-server is missing. The cluster starts before the suite's own `before` hooks and stops
 * after its own `after` hooks (node:test runs hooks in the order they are registered), so those
 * may use it. `body` reads it through `cluster()`, which throws until it has started.
 */
export function describeCluster(
  name: string,
  options: ClusterOptions,
  body: (cluster: () => Cluster) => void,
): void {
  describe(name, { skip: skipReason(postgresUnavailable() ?? natsUnavailable()) }, () => {
    let started: Cluster | undefined;
    before(async () => {
      started = await startCluster(options);
    });
    body(() => {
      assert.ok(started, 'the cluster has not started');
      return started;
    });
    after(() => started?.stop());
  });
}
