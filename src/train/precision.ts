import { parseChoice } from '../core/parse-choice.js';

/**
 * The arithmetic a user picks for training (`xnorcam train --precision`, `xnorcam specialise
 * --train-precision`). auto leaves the choice to the trainer, which autocasts the forward pass to
 * bfloat16 only where the CPU has AMX (AVX-512 BF16 alone trained worse) and says so in its log.
 */
export const TRAIN_PRECISIONS = ['auto', 'fp32', 'bf16'] as const;
export type TrainPrecision = (typeof TRAIN_PRECISIONS)[number];

/** The trainer's `--bf16` value (training/train.py) for a precision. */
export const BF16_ARG: Record<TrainPrecision, 'auto' | 'off' | 'on'> = { auto: 'auto', fp32: 'off', bf16: 'on' };

/** `text` as a precision, or a one-line error naming `flag` (e.g. `--precision fp16: expected one of auto, fp32, bf16`). */
export const parseTrainPrecision = (flag: string, text: string): TrainPrecision => parseChoice(flag, text, TRAIN_PRECISIONS);
