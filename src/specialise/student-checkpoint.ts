/**
 * The validation figure that picks the student's exported checkpoint: class-agnostic AP@0.5, as the report's vehicle
 * agreement counts any vehicle class as one. The per-class mean swung on a camera's one or two validation buses
 * (0.46 → 0.00 between checkpoints) and picked step 200 of 1,321 on the highway clip.
 */
export const STUDENT_CHECKPOINT_CHOICE = 'agnostic';
