/** The cluster workload's goals, checked against one run's rows. */
import { availableParallelism } from 'node:os';
import type { Goal } from '../lib/goals.js';
import { ratios } from '../lib/report.js';
import type { Row } from '../lib/report.js';
import { spread } from '../lib/stats.js';

/** How busy the whole machine was during a row's measured phase, % of one core (median). */
function machinePct(row: Row | undefined): number {
  if (row === undefined) return NaN;
  const keys = ['serverCpuPct', 'backendCpuPct', 'clientCpuPct', 'othersCpuPct'];
  return spread(row.reps.map((m) => (m === null ? NaN : keys.reduce((t, k) => t + (m[k] ?? 0), 0))))
    .median;
}

/**
 * The scale-out goals: a node with no member of a conversation spends < 1 µs on its messages
 * (the bystander, on the run with the most nodes), and each of n nodes with node-local rooms
 * spends per message of its own at most 1.1× what one node alone does on the same backends.
 */
export function clusterGoals(
  rows: readonly Row[],
  one: string | undefined,
  most: string | undefined,
): Goal[] {
  if (one === undefined || most === undefined || one === most) return [];
  const goals: Goal[] = [];
  const r = ratios([{ key: 'nodeCpuPerOwn', title: 'per-node µs/own message', digits: 1 }], rows, [
    { num: most, den: one },
  ])[`${most} / ${one}`];
  const cores = availableParallelism();
  const busy = (label: string): string =>
    `${machinePct(rows.find((x) => x.label === label)).toFixed(0)} %`;
  if (r?.nodeCpuPerOwn)
    goals.push({
      name: `cluster per-node CPU per own message, ${most} / ${one}`,
      measured: r.nodeCpuPerOwn,
      unit: '×',
      bound: 1.1,
      why:
        `contention for ${cores} cores: the machine was ${busy(most)} busy (of ${cores * 100} %) ` +
        `in the ${most} run, ${busy(one)} in the other (nodes, PostgreSQL, nats-server and the ` +
        "load generator); what the bus brings a node is the bystander's figure below",
    });
  const row = rows.find((x) => x.label === most);
  if (row !== undefined)
    goals.push({
      name: `cluster bystander node's CPU per message of others, beyond an idle control (${most})`,
      measured: spread(row.reps.map((m) => m?.bystanderCpuPerMessage ?? NaN)),
      unit: 'µs',
      bound: 1,
      strict: true,
    });
  if (row !== undefined)
    goals.push({
      name: `cluster bus events the bystander node receives per message of others: global ones only (${most})`,
      measured: spread(row.reps.map((m) => m?.bystanderReceived ?? NaN)),
      unit: 'msg',
      // Presence snapshots and connects reach every node; a conversation's messages never do.
      bound: 0.01,
    });
  return goals;
}
