/**
 * `npx tsx bench/tools/cpuprofile-stages.ts <file.cpuprofile> [units] [vs.cpuprofile [units]]`:
 * a V8 CPU profile's time by stage of the send path (bench/lib/stages.ts); `units` (e.g. the
 * messages published while profiling) turns ms into µs per unit. With a second profile, the
 * two side by side, biggest difference first.
 */
import { readFileSync } from 'node:fs';

import type { Profile } from '../lib/cpuprofile.js';
import { stageTable, stageTimes } from '../lib/stages.js';

const [file, unitsArg, vsFile, vsUnitsArg] = process.argv.slice(2);
if (file === undefined) {
  console.error(
    'usage: npx tsx bench/tools/cpuprofile-stages.ts <file.cpuprofile> [units] [vs.cpuprofile [units]]',
  );
  process.exit(2);
}
const read = (f: string): Profile => JSON.parse(readFileSync(f, 'utf8')) as Profile;
const units = Number(unitsArg ?? 0);
const totals = stageTimes(read(file));
if (vsFile !== undefined) {
  const vsUnits = Number(vsUnitsArg ?? unitsArg ?? 1);
  const { table } = stageTable(
    'stage (main thread)',
    [file, vsFile],
    [totals, stageTimes(read(vsFile))],
    [units > 0 ? units : 1, vsUnits > 0 ? vsUnits : 1],
  );
  console.log(table);
} else {
  for (const [stage, us] of [...totals].sort((a, b) => b[1] - a[1])) {
    const perUnit = units > 0 ? `  ${(us / units).toFixed(1).padStart(7)} µs/unit` : '';
    console.log(`${stage.padEnd(40)} ${(us / 1000).toFixed(0).padStart(7)} ms${perUnit}`);
  }
}
