import { UserError } from '../core/errors.js';

/**
 * A PyTorch device name for the trainer's --device, checked for form only (whether this PyTorch can
 * use it the trainer says, in one line, before it trains): checking here lets `xnorcam specialise`
 * refuse a typo before it spends minutes sampling and labelling frames.
 */
export function parseTrainDevice(flag: string, text: string): string {
  const d = text.trim().toLowerCase();
  if (!/^(cpu|mps|cuda(:\d+)?)$/.test(d)) throw new UserError(`${flag} ${text}: expected cpu, cuda, cuda:N or mps`, 2);
  return d;
}
