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
      description: `Four road-surface points in source pixels = the same points on the ground in metres: speeds (km/h) on tracks and crossings${scope}`,
    },
  } as const;
}
