import { UserError } from '../core/errors.js';
import type { SpeedUnit } from '../outputs/speeds-csv.js';
import { numberOption } from './command.js';

/**
 * --zone and --calibration of the pipeline commands (run, batch), parsed by parseZoneOption and
 * parseCalibrationOption; `scope` says which sources they are for.
 */
export function sceneOptions(scope = '') {
  return {
    zone: { type: 'string', multiple: true, value: 'NAME:X1,Y1,X2,Y2,X3,Y3[,...]', description: `Zone polygon in source pixels: enter/exit events with dwell time${scope} (repeatable)` },
    calibration: {
      type: 'string',
      value: '"X,Y=E,N X,Y=E,N X,Y=E,N X,Y=E,N"',
      description: `Four road-surface points in source pixels = the same points on the ground in metres: speeds (km/h) on tracks and crossings${scope}. Take them well past each --line on both sides (a few metres): a vehicle has no speed at a line until it has been inside them for 0.4 s`,
    },
  } as const;
}

/** batch's spot-speed study. */
export const speedStudyOptions = {
  speeds: {
    type: 'boolean',
    description: 'Also write <name>.speeds.csv (per --count-interval, line, direction and class: vehicles, mean, 15th/50th/85th percentile and max speed) and <name>.crossings.csv (each crossing\'s speed); needs --calibration and --line',
  },
  'speed-unit': { type: 'string', value: 'kmh|mph', description: 'Unit of the --speeds files (events keep speedKmh)', default: 'kmh' },
  'speed-limit': { type: 'string', value: 'N', description: 'With --speeds: the speed limit, in --speed-unit: vehicles measured faster than it counted per row' },
} as const;

export interface SpeedStudyFlags {
  unit: SpeedUnit;
  limit?: number;
}

/** --speeds and its options, checked against what a study needs; undefined without --speeds. */
export function speedStudyFlags(v: { speeds?: boolean; 'speed-unit'?: string; 'speed-limit'?: string }, calibrated: boolean, lines: number): SpeedStudyFlags | undefined {
  const unit = v['speed-unit'] ?? 'kmh';
  if (unit !== 'kmh' && unit !== 'mph') throw new UserError(`--speed-unit: '${unit}' is not kmh or mph`, 2);
  const limit = v['speed-limit'] === undefined ? undefined : numberOption('speed-limit', v['speed-limit'], 0, { min: 0, above: true });
  if (!v.speeds) {
    if (limit !== undefined) throw new UserError('--speed-limit: only with --speeds (the limit is counted in <name>.speeds.csv)', 2);
    if (v['speed-unit'] !== undefined && unit !== 'kmh') throw new UserError('--speed-unit: only with --speeds (events keep speedKmh)', 2);
    return undefined;
  }
  if (!calibrated) throw new UserError('--speeds: needs --calibration (four road points = ground metres): without it no speed is measured', 2);
  if (!lines) throw new UserError('--speeds: needs a --line: speeds are taken where vehicles cross one', 2);
  return { unit, limit };
}
